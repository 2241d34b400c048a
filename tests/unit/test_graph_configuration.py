"""A run's choices reach the support graph through its config, with no graph rebuilt."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from doubles import (
    DECIDE_MARK,
    GENERATE_MARK,
    ListRetriever,
    ScriptedChatModel,
    chunk,
    graph_deps,
    script,
)
from langchain_core.runnables import RunnableConfig
from pydantic import ValidationError

from assistant.graph.builder import SupportGraph, build_graph
from assistant.graph.configuration import TurnConfig
from assistant.graph.state import new_turn
from assistant.schemas import Answer, Outcome, RetrievedChunk
from assistant.settings import Settings
from assistant.turn.judgement import Judgement


class FixedJudge:
    def __init__(self, judgement: Judgement) -> None:
        self.judgement = judgement
        self.asked = 0

    def judge(self, question: str, context: str, chunks: Sequence[RetrievedChunk]) -> Judgement:
        self.asked += 1
        return self.judgement


class FixedRouter:
    def __init__(self, label: str) -> None:
        self.label = label

    def route(self, question: str, context: str) -> str:
        return self.label


class NoVerifier:
    def check_sentence(self, sentence: str, chunks: Sequence[RetrievedChunk]) -> None:
        raise AssertionError("the run turned the citation check off")


def run(
    graph: SupportGraph, question: str = "How do I reset my password?", **choices: object
) -> Answer:
    config: RunnableConfig = {"configurable": choices}
    return graph.invoke(new_turn(question, "default"), config)["answer"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.answer_mode = "generative"
    return settings


def test_the_settings_are_the_defaults_and_a_run_overrides_them(settings: Settings) -> None:
    settings.top_k = 4
    defaults = TurnConfig.from_settings(settings)
    assert defaults.top_k == 4 and defaults.answer_mode == "generative"
    config: RunnableConfig = {"configurable": {"top_k": "2", "thread_id": "t", "backend": "x"}}
    chosen = TurnConfig.from_runnable_config(config, defaults)
    assert (chosen.top_k, chosen.answer_mode) == (2, "generative")
    assert (
        TurnConfig.from_runnable_config({"configurable": {"thread_id": "t"}}, defaults) is defaults
    )


def test_each_choice_is_validated_as_its_setting_is() -> None:
    for name, choice in TurnConfig.model_fields.items():
        setting = Settings.model_fields[name]
        assert choice.annotation == setting.annotation, name
        assert choice.metadata == setting.metadata, name


def test_a_runs_search_options_reach_the_retriever(settings: Settings) -> None:
    retriever = ListRetriever([chunk(1), chunk(2)])
    graph = build_graph(
        graph_deps(settings, ScriptedChatModel(respond=script("search")), retriever)
    )
    run(graph)
    run(graph, top_k=1, search_mode="dense")
    assert retriever.options == [(5, "hybrid"), (1, "dense")]


def test_a_bad_value_fails_the_run_naming_the_choice(settings: Settings) -> None:
    graph = build_graph(
        graph_deps(settings, ScriptedChatModel(respond=script("search")), ListRetriever([]))
    )
    with pytest.raises(ValidationError, match="max_rewrites"):
        run(graph, max_rewrites=9)


def test_a_run_chooses_its_rewrites_and_no_answer_action(settings: Settings) -> None:
    retriever = ListRetriever([])
    graph = build_graph(
        graph_deps(settings, ScriptedChatModel(respond=script("search")), retriever)
    )
    assert run(graph).outcome is Outcome.DECLINED
    assert len(retriever.searches) == 1
    answer = run(graph, max_rewrites=1, no_answer_action="escalate")
    assert answer.outcome is Outcome.ESCALATED
    assert len(retriever.searches) == 3


def test_a_run_can_choose_the_models_step_over_the_fitted_router(settings: Settings) -> None:
    model = ScriptedChatModel(respond=script("human"))
    deps = graph_deps(settings, model, ListRetriever([chunk(1)]), router=FixedRouter("search"))
    graph = build_graph(deps)
    assert run(graph).outcome is Outcome.ANSWERED
    assert model.saw(DECIDE_MARK) == 0
    assert run(graph, router="model").outcome is Outcome.ESCALATED
    assert model.saw(DECIDE_MARK) > 0


def test_a_run_can_choose_the_cosine_gate_over_the_judge(settings: Settings) -> None:
    judge = FixedJudge(Judgement(answerable=False, confidence=0.1))
    model = ScriptedChatModel(respond=script("search"))
    graph = build_graph(graph_deps(settings, model, ListRetriever([chunk(1)]), judge=judge))
    assert run(graph).outcome is Outcome.DECLINED
    assert run(graph, judge="cosine").outcome is Outcome.ANSWERED
    assert judge.asked == 1
    assert model.saw(GENERATE_MARK) == 1


def test_a_run_can_turn_the_citation_check_off(settings: Settings) -> None:
    settings.verify_citations = "remove"
    model = ScriptedChatModel(respond=script("search"))
    deps = graph_deps(settings, model, ListRetriever([chunk(1)]), verifier=NoVerifier())
    answer = run(build_graph(deps), verify_citations="off")
    assert answer.outcome is Outcome.ANSWERED
    assert [c.doc_id for c in answer.citations] == ["doc-1"]

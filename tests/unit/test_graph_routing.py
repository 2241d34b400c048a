"""The support graph's routing, with a scripted model and an in-memory retriever."""

from __future__ import annotations

from pathlib import Path

import pytest
from doubles import (
    GENERATE_MARK,
    REWRITE_MARK,
    ListRetriever,
    ScriptedChatModel,
    chunk,
    graph_deps,
    script,
)
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from assistant.graph.builder import build_graph
from assistant.graph.state import new_turn
from assistant.llm.errors import ModelOutputError
from assistant.policy import support_policy
from assistant.schemas import Action, Answer, EscalationDecision, Outcome, TriageResult
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer


def run(
    settings: Settings,
    model: ScriptedChatModel,
    retriever: ListRetriever,
    question: str = "How do I reset my password?",
    tenant: str = "default",
) -> Answer:
    state = build_graph(graph_deps(settings, model, retriever)).invoke(new_turn(question, tenant))
    return state["answer"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Most tests feed the generator's text themselves; extractive mode has its own test.
    settings.answer_mode = "generative"
    return settings


def test_retrieve_path_answers_with_citations_of_retrieved_chunks(settings):
    retriever = ListRetriever([chunk(1), chunk(2)])
    answer = run(settings, ScriptedChatModel(respond=script("search")), retriever)
    assert answer.action is Action.RETRIEVE
    assert answer.outcome is Outcome.ANSWERED
    assert [(c.n, c.doc_id) for c in answer.citations] == [(1, "doc-1")]
    assert retriever.searches == [("How do I reset my password?", "default")]


@pytest.mark.parametrize(
    ("decision", "question", "action", "outcome"),
    [
        ("reply", "Thanks, bye!", Action.ANSWER, Outcome.ANSWERED_DIRECTLY),
        ("human", "How do I reset my password?", Action.ESCALATE, Outcome.ESCALATED),
    ],
)
def test_replies_and_hand_overs_never_search(settings, decision, question, action, outcome):
    retriever = ListRetriever([chunk(1)])
    model = ScriptedChatModel(respond=script(decision))
    answer = run(settings, model, retriever, question)
    assert (answer.action, answer.outcome) == (action, outcome)
    assert retriever.searches == []
    assert answer.citations == []
    assert model.saw(GENERATE_MARK) == 0


def test_a_message_that_only_thanks_is_replied_to_even_when_the_router_would_search(settings):
    retriever = ListRetriever([chunk(1), chunk(2)])
    model = ScriptedChatModel(respond=script("search"))
    answer = run(settings, model, retriever, "ok thanks!")
    assert (answer.action, answer.outcome) == (Action.ANSWER, Outcome.ANSWERED_DIRECTLY)
    assert retriever.searches == []
    # Feedback that reads like thanks is not thanks: it is searched as the router said.
    answer = run(settings, model, retriever, "thanks but it still does not work")
    assert answer.action is Action.RETRIEVE
    assert retriever.searches


def test_a_reply_to_a_message_that_is_not_small_talk_as_a_whole_searches_instead(settings):
    retriever = ListRetriever([chunk(1)])
    model = ScriptedChatModel(respond=script("reply"))
    question = "What happens when everyone leaves home in Eco mode?"
    answer = run(settings, model, retriever, question)
    assert (answer.action, answer.outcome) == (Action.RETRIEVE, Outcome.ANSWERED)
    assert retriever.searches == [(question, "default")]
    # The run can trust the decide step's reply alone.
    settings.small_talk_whole = False
    assert run(settings, model, retriever, question).outcome is Outcome.ANSWERED_DIRECTLY


def test_a_clarifying_question_searches_first_and_names_the_documents_found(settings):
    retriever = ListRetriever([chunk(1), chunk(2)])
    model = ScriptedChatModel(respond=script("clarify"))
    answer = run(settings, model, retriever)
    assert (answer.action, answer.outcome) == (Action.CLARIFY, Outcome.CLARIFY)
    assert len(retriever.searches) == 1
    assert '"Doc 1"' in answer.text and '"Doc 2"' in answer.text
    assert answer.citations == []
    assert model.saw(GENERATE_MARK) == 0


@pytest.mark.parametrize("question", ["it doesn't work", "error", "How do I change it?"])
def test_a_vague_opening_message_is_asked_about_what_the_search_found(settings, question):
    retriever = ListRetriever([chunk(1), chunk(2)])
    model = ScriptedChatModel(respond=script("search"))
    answer = run(settings, model, retriever, question)
    assert (answer.action, answer.outcome) == (Action.CLARIFY, Outcome.CLARIFY)
    assert '"Doc 1"' in answer.text and '"Doc 2"' in answer.text
    assert model.saw(GENERATE_MARK) == 0


def test_a_vague_message_is_left_to_the_judge_when_the_rule_is_off_or_nothing_was_found(
    settings,
):
    model = ScriptedChatModel(respond=script("search"))
    # However far the pages found: a message that names nothing is close to none.
    far = run(settings, model, ListRetriever([chunk(1, score=0.05)]), "error")
    assert far.outcome is Outcome.CLARIFY
    assert run(settings, model, ListRetriever([]), "error").outcome is Outcome.DECLINED
    settings.clarify_vague = False
    assert run(settings, model, ListRetriever([chunk(1)]), "error").outcome is Outcome.ANSWERED


def test_a_vague_message_after_an_earlier_turn_is_answered_in_its_conversation(settings):
    retriever = ListRetriever([chunk(1)])
    graph = build_graph(
        graph_deps(settings, ScriptedChatModel(respond=script("search")), retriever),
        checkpointer=InMemorySaver(),
    )
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke(new_turn("How do I set up Eco mode?", "default"), config)
    answer = graph.invoke(new_turn("How do I change it?", "default"), config)["answer"]
    assert answer.outcome is Outcome.ANSWERED


def test_a_clarifying_question_with_nothing_found_is_written_by_the_model(settings):
    model = ScriptedChatModel(respond=script("clarify"))
    answer = run(settings, model, ListRetriever([]))
    assert answer.outcome is Outcome.CLARIFY
    assert answer.text == "Could you tell me which product you mean?"


def test_irrelevant_chunks_trigger_bounded_rewrites_then_decline_without_generating(settings):
    settings.max_rewrites = 2
    retriever = ListRetriever([chunk(1, score=0.05), chunk(2, score=0.1)])
    model = ScriptedChatModel(respond=script("search"))
    answer = run(settings, model, retriever)
    assert answer.outcome is Outcome.DECLINED
    assert len(retriever.searches) == 3
    assert model.saw(REWRITE_MARK) == 2
    assert model.saw(GENERATE_MARK) == 0
    assert answer.citations == []


def test_zero_chunks_escalate_when_configured_and_never_reach_the_generator(settings):
    settings.max_rewrites = 1
    settings.no_answer_action = "escalate"
    model = ScriptedChatModel(respond=script("search"))
    answer = run(settings, model, ListRetriever([]))
    assert answer.outcome is Outcome.ESCALATED
    assert model.saw(GENERATE_MARK) == 0


def test_rewritten_query_is_what_the_second_search_sends(settings):
    settings.max_rewrites = 1
    retriever = ListRetriever([chunk(1, score=0.0)])
    answer = run(settings, ScriptedChatModel(respond=script("search")), retriever)
    assert [q for q, _ in retriever.searches] == ["How do I reset my password?", "a better query"]
    assert answer.queries == ["How do I reset my password?", "a better query"]


def test_invalid_markers_are_removed_and_counted(settings):
    model = ScriptedChatModel(respond=script("search", "Fact [1]. Invented [9]."))
    answer = run(settings, model, ListRetriever([chunk(1), chunk(2)]))
    assert answer.outcome is Outcome.ANSWERED
    assert "[9]" not in answer.text
    assert answer.removed_citations == 1
    assert [c.n for c in answer.citations] == [1]


def test_answer_whose_every_marker_is_invalid_is_withheld(settings):
    model = ScriptedChatModel(respond=script("search", "Invented [9]."))
    answer = run(settings, model, ListRetriever([chunk(1)]))
    assert answer.outcome is Outcome.DECLINED
    assert answer.citations == []
    assert answer.removed_citations == 1


def test_search_is_scoped_to_the_turns_tenant(settings):
    retriever = ListRetriever([chunk(1, tenant="acme"), chunk(2, tenant="globex")])
    answer = run(settings, ScriptedChatModel(respond=script("search")), retriever, tenant="acme")
    assert retriever.searches[0][1] == "acme"
    assert {c.doc_id for c in answer.citations} == {"doc-1"}


def test_every_node_that_ran_is_timed(settings):
    deps = graph_deps(
        settings, ScriptedChatModel(respond=script("search")), ListRetriever([chunk(1)])
    )
    state = build_graph(deps).invoke(new_turn("How do I reset my password?", "default"))
    assert [t.node for t in state["timings"]] == [
        "triage",
        "decide",
        "retrieve",
        "grade",
        "generate",
        "cite",
    ]


def test_thread_is_kept_by_the_sqlite_checkpointer_across_reopening(settings, tmp_path: Path):
    deps = graph_deps(
        settings, ScriptedChatModel(respond=script("search")), ListRetriever([chunk(1)])
    )
    config = {"configurable": {"thread_id": "t-1"}}
    db = tmp_path / "threads.sqlite"
    build_graph(deps, open_checkpointer(db)).invoke(new_turn("first?", "default"), config)
    build_graph(deps, open_checkpointer(db)).invoke(new_turn("second?", "default"), config)

    state = build_graph(deps, open_checkpointer(db)).get_state(config).values
    assert [m.type for m in state["messages"]] == ["human", "ai", "human", "ai"]
    assert state["messages"][2].text == "second?"
    assert state["timings"][0].node == "triage"  # per-turn fields restart each turn
    assert len(state["timings"]) == 6


def test_extractive_mode_answers_with_a_passage_sentence_and_its_marker(settings):
    settings.answer_mode = "extractive"
    model = ScriptedChatModel(respond=script("search", "Passage 2 says the answer is 2. [2]"))
    answer = run(settings, model, ListRetriever([chunk(1), chunk(2)]))
    assert answer.outcome is Outcome.ANSWERED
    assert answer.text == "Passage 2 says the answer is 2. [2]"
    assert [(c.n, c.doc_id) for c in answer.citations] == [(2, "doc-2")]


def test_escalation_hands_over_then_the_humans_reply_resumes_the_thread(settings):
    decisions: list[tuple[str, str]] = []

    def escalation(text: str, context: str) -> EscalationDecision:
        decisions.append((text, context))
        return EscalationDecision(
            escalate=True, reason="human_requested", summary="Wants a person."
        )

    graph = build_graph(
        graph_deps(
            settings,
            ScriptedChatModel(respond=script("human")),
            ListRetriever([]),
            escalation=escalation,
        ),
        InMemorySaver(),
    )
    config = {"configurable": {"thread_id": "t"}}
    state = graph.invoke(new_turn("Let me talk to a person", "default"), config)
    assert state["answer"].outcome is Outcome.ESCALATED
    assert state["answer"].escalation.summary == "Wants a person."
    assert decisions == [("Let me talk to a person", "none")]
    waiting = graph.get_state(config)
    assert waiting.next == ("await_human",)
    assert waiting.interrupts[0].value["summary"] == "Wants a person."

    state = graph.invoke(Command(resume="Hi, I am Sam from support."), config)
    assert state["answer"].outcome is Outcome.HUMAN_REPLY
    assert state["answer"].text == "Hi, I am Sam from support."
    assert [m.type for m in state["messages"]] == ["human", "ai", "ai"]
    assert graph.get_state(config).next == ()


def test_an_escalation_adapter_that_says_no_sends_the_question_to_search(settings):
    def escalation(text: str, context: str) -> EscalationDecision:
        return EscalationDecision(escalate=False, reason="none")

    retriever = ListRetriever([chunk(1)])
    deps = graph_deps(
        settings, ScriptedChatModel(respond=script("human")), retriever, escalation=escalation
    )
    answer = build_graph(deps).invoke(new_turn("How do refunds work?", "default"))["answer"]
    assert answer.outcome is Outcome.ANSWERED
    assert retriever.searches == [("How do refunds work?", "default")]


def test_no_relevant_chunks_escalate_with_the_no_answer_context(settings):
    settings.no_answer_action = "escalate"
    settings.max_rewrites = 0
    contexts: list[str] = []

    def escalation(text: str, context: str) -> EscalationDecision:
        contexts.append(context)
        return EscalationDecision(escalate=True, reason="unanswerable", summary=text)

    deps = graph_deps(
        settings,
        ScriptedChatModel(respond=script("search")),
        ListRetriever([]),
        escalation=escalation,
    )
    answer = build_graph(deps).invoke(new_turn("Where is my parcel?", "default"))["answer"]
    assert answer.outcome is Outcome.ESCALATED
    assert contexts == ["The knowledge base has no answer."]


def test_the_triage_result_is_part_of_the_answer(settings):
    result = TriageResult(category="card_arrival", priority="normal", needs_human=False)
    deps = graph_deps(
        settings,
        ScriptedChatModel(respond=script("search")),
        ListRetriever([chunk(1)]),
        triage=lambda text: result,
    )
    answer = build_graph(deps).invoke(new_turn("Where is my card?", "default"))["answer"]
    assert answer.triage == result


def test_a_triage_reply_that_cannot_be_validated_leaves_the_turn_untriaged(settings):
    def broken(text: str) -> TriageResult:
        raise ModelOutputError("not JSON")

    deps = graph_deps(
        settings,
        ScriptedChatModel(respond=script("search")),
        ListRetriever([chunk(1)]),
        triage=broken,
    )
    answer = build_graph(deps).invoke(new_turn("Where is my card?", "default"))["answer"]
    assert answer.triage is None
    assert answer.outcome is Outcome.ANSWERED


@pytest.mark.parametrize(("needs_human", "outcome"), [(False, Outcome.ANSWERED), (True, None)])
def test_a_hand_over_the_step_chose_stands_only_when_triage_says_a_person_is_needed(
    settings, needs_human, outcome
):
    reading = TriageResult(category="how_to", priority="normal", needs_human=needs_human)
    settings.triage_hand_over = "off"
    retriever = ListRetriever([chunk(1)])
    deps = graph_deps(
        settings,
        ScriptedChatModel(respond=script("human")),
        retriever,
        triage=lambda text: reading,
    )
    question = "Who do I call about a missed garbage collection?"
    answer = build_graph(deps).invoke(new_turn(question, "default"))["answer"]
    if needs_human:
        assert answer.action is Action.ESCALATE
        assert answer.outcome is Outcome.ESCALATED
    else:
        assert answer.action is Action.RETRIEVE
        assert answer.outcome is outcome
        assert retriever.searches


def test_a_hand_over_the_step_chose_for_a_reading_that_needs_a_person_has_the_policys_reason(
    settings,
):
    reading = TriageResult(category="safety", priority="urgent", needs_human=True)

    def adapter(question: str, context: str) -> EscalationDecision:
        raise AssertionError("the escalation adapter guessed the reason")

    deps = graph_deps(
        settings,
        ScriptedChatModel(respond=script("human")),
        ListRetriever([chunk(1)]),
        triage=lambda text: reading,
        triage_policy=support_policy(),
        escalation=adapter,
    )
    answer = build_graph(deps).invoke(new_turn("I fell off and I am bleeding", "default"))["answer"]
    assert answer.outcome is Outcome.ESCALATED
    assert answer.escalation is not None
    assert answer.escalation.reason == "safety"
    assert "I fell off and I am bleeding" in answer.escalation.summary

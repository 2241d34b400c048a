"""The served model's judgement beside the fitted one: it only makes a turn more careful, and
a verdict that does not come or does not parse leaves the fitted judgement."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import pytest
from doubles import ScriptedChatModel, chunk
from langchain_core.messages import BaseMessage, HumanMessage

from assistant.schemas import RetrievedChunk
from assistant.turn.judgement import Judgement
from assistant.turn.model_judge import (
    CombinedJudge,
    ModelJudge,
    PassageVerdict,
    combine,
    verdict_schema,
)

CONFIDENT = Judgement(answerable=True, kept=[0, 2], confidence=0.9)
HEDGED = Judgement(answerable=True, kept=[0], confidence=0.5, hedged=True)
DECLINED = Judgement(answerable=False, confidence=0.1)


class FixedJudge:
    def __init__(self, judgement: Judgement) -> None:
        self.judgement = judgement

    def judge(self, question: str, context: str, chunks: Sequence[RetrievedChunk]) -> Judgement:
        return self.judgement


def messages(passages: str, question: str) -> list[BaseMessage]:
    return [HumanMessage(f"{passages}\nQuestion: {question}")]


def combined(fitted: Judgement, reply: str) -> tuple[Judgement, ScriptedChatModel]:
    model = ScriptedChatModel(respond=lambda prompt: reply)
    judge = CombinedJudge(FixedJudge(fitted), ModelJudge(model, messages))
    return judge.judge("How do I reset it?", "", [chunk(1), chunk(2), chunk(3)]), model


@pytest.mark.parametrize(
    ("fitted", "verdict", "expected"),
    [
        (CONFIDENT, PassageVerdict(answers=True, passages=[1]), CONFIDENT),
        (CONFIDENT, PassageVerdict(answers=False), CONFIDENT.model_copy(update={"hedged": True})),
        (
            CONFIDENT,
            PassageVerdict(answers=True, passages=[]),
            CONFIDENT.model_copy(update={"hedged": True}),
        ),
        (HEDGED, PassageVerdict(answers=True, passages=[1]), HEDGED),
        (HEDGED, PassageVerdict(answers=False), Judgement(answerable=False, confidence=0.5)),
    ],
)
def test_the_models_no_takes_a_judgement_down_one_band_its_yes_changes_nothing(
    fitted: Judgement, verdict: PassageVerdict, expected: Judgement
) -> None:
    assert combine(fitted, verdict) == expected


def test_the_model_reads_the_kept_passages_numbered_as_the_answer_cites_them() -> None:
    judgement, model = combined(CONFIDENT, json.dumps({"answers": False, "passages": []}))
    assert judgement.hedged
    (prompt,) = model.prompts
    # The fitted judge kept chunks 0 and 2: they are passages [1] and [2] of the answer.
    assert "[1] Doc 1:" in prompt and "[2] Doc 3:" in prompt and "Doc 2" not in prompt


def test_a_declined_search_is_never_sent_to_the_model() -> None:
    judgement, model = combined(DECLINED, json.dumps({"answers": True, "passages": [1]}))
    assert judgement == DECLINED
    assert model.prompts == []


@pytest.mark.parametrize(
    "reply",
    ["yes", '{"answers": "maybe"}', json.dumps({"answers": True, "passages": [7]})],
)
def test_a_verdict_that_is_not_one_leaves_the_fitted_judgement(reply: str, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        judgement, _ = combined(CONFIDENT, reply)
    assert judgement == CONFIDENT
    assert "fitted judge decides" in caplog.text


def test_the_schema_allows_only_the_numbers_of_the_passages() -> None:
    schema = verdict_schema(3)
    assert schema["properties"]["passages"]["items"]["enum"] == [1, 2, 3]
    assert schema["required"] == ["answers", "passages"]

"""Dev-set scores: accuracy, macro-F1, escalation precision and recall."""

from __future__ import annotations

import pytest

from assistant.schemas import EscalationDecision
from assistant.triage.examples import triage_result
from assistant.triage.scores import macro_f1, score_escalation, score_triage

YES = EscalationDecision(escalate=True, reason="security", summary="s")
YES_OTHER = EscalationDecision(escalate=True, reason="dispute", summary="s")
NO = EscalationDecision(escalate=False, reason="none", summary="")


def test_macro_f1_averages_labels_equally() -> None:
    # a: tp=1 fp=0 fn=1 -> 2/3; b: tp=1 fp=1 fn=0 -> 2/3; c: never right -> 0.
    assert macro_f1(["a", "a", "b", "c"], ["a", "b", "b", None]) == pytest.approx(4 / 9)


def test_an_invalid_triage_reply_counts_as_wrong() -> None:
    gold = [triage_result("lost_or_stolen_card"), triage_result("age_limit")]
    scores = score_triage(gold, [gold[0], None], [True, False])
    assert scores.category_accuracy == 0.5
    assert scores.priority_accuracy == 0.5
    assert scores.json_valid_rate == 0.5


def test_escalation_precision_recall_and_reason() -> None:
    gold = [YES, YES, NO, NO]
    scores = score_escalation(gold, [YES, NO, YES_OTHER, NO], [True] * 4)
    assert (scores.precision, scores.recall, scores.accuracy) == (0.5, 0.5, 0.5)
    assert scores.reason_accuracy == 0.5


def test_a_yes_no_classifier_has_no_reason_score() -> None:
    scores = score_escalation([YES, NO], [True, False], [True, True])
    assert (scores.precision, scores.recall, scores.reason_accuracy) == (1.0, 1.0, None)

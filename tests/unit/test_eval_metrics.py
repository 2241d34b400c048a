"""The evaluation metrics on small cases checked by hand."""

from __future__ import annotations

import math

import pytest

from assistant.evaluation.diagnosis import diagnose
from assistant.evaluation.metrics import (
    citation_precision,
    citation_recall,
    citations_valid,
    confusion_matrix,
    mean,
    ndcg_at_k,
    per_class_scores,
    percentile,
    rank_documents,
    recall_at_k,
    reciprocal_rank,
    retrieval_scores,
    rouge_l,
    token_f1,
)
from assistant.schemas import Outcome


def test_a_perfect_ranking_scores_one_everywhere() -> None:
    scores = retrieval_scores(["a", "x", "y"], {"a"})
    assert scores.model_dump() == {
        "recall_at_1": 1.0,
        "recall_at_5": 1.0,
        "recall_at_10": 1.0,
        "mrr_at_10": 1.0,
        "ndcg_at_10": 1.0,
    }


def test_gold_in_third_place() -> None:
    ranked = ["x", "y", "a", "z"]
    assert recall_at_k(ranked, {"a"}, 1) == 0.0
    assert recall_at_k(ranked, {"a"}, 5) == 1.0
    assert reciprocal_rank(ranked, {"a"}) == pytest.approx(1 / 3)
    assert ndcg_at_k(ranked, {"a"}) == pytest.approx(1 / math.log2(4))


def test_two_gold_documents_one_found() -> None:
    ranked = ["a", "x"]
    assert recall_at_k(ranked, {"a", "b"}, 10) == 0.5
    # Ideal: gold at ranks 1 and 2; found: rank 1 only.
    assert ndcg_at_k(ranked, {"a", "b"}) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_gold_beyond_the_cut_off_is_a_miss() -> None:
    ranked = [f"d{i}" for i in range(10)] + ["a"]
    assert retrieval_scores(ranked, {"a"}).model_dump() == dict.fromkeys(
        ["recall_at_1", "recall_at_5", "recall_at_10", "mrr_at_10", "ndcg_at_10"], 0.0
    )


def test_no_gold_scores_zero_not_a_division_error() -> None:
    assert recall_at_k(["a"], set(), 10) == 0.0
    assert ndcg_at_k(["a"], set()) == 0.0


def test_documents_rank_by_their_best_chunk() -> None:
    assert rank_documents(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]


def test_token_f1_by_hand() -> None:
    assert token_f1("The card arrives in 5 days", "the card arrives in 5 days") == 1.0
    # prediction {reset, password}, reference {reset, your, password, online}: p=1, r=0.5.
    assert token_f1("reset password", "reset your password online") == pytest.approx(2 / 3)
    assert token_f1("nothing alike", "card blocked") == 0.0
    assert token_f1("", "") == 1.0
    assert token_f1("", "something") == 0.0


def test_citation_markers_are_not_words_of_the_answer() -> None:
    assert token_f1("Reset it online [1][2].", "reset it online") == 1.0
    assert rouge_l("Reset it online [1].", "reset it online") == 1.0


def test_rouge_l_counts_the_longest_common_subsequence() -> None:
    # LCS of "a b c d" and "a c d e" is "a c d": p = r = 3/4.
    assert rouge_l("a b c d", "a c d e") == pytest.approx(0.75)
    assert rouge_l("x y", "a b") == 0.0


def test_citation_validity() -> None:
    retrieved = {"c1", "c2"}
    assert citations_valid([1, 2], {1: "c1", 2: "c2"}, retrieved) is True
    assert citations_valid([1, 3], {1: "c1"}, retrieved) is False
    assert citations_valid([1], {1: "elsewhere"}, retrieved) is False
    # The assistant's own check dropped a marker: it was invalid even if the rest are fine.
    assert citations_valid([1], {1: "c1"}, retrieved, removed=1) is False
    assert citations_valid([], {}, retrieved) is None


def test_citation_precision_and_recall() -> None:
    assert citation_precision(["a", "a", "x"], {"a", "b"}) == pytest.approx(2 / 3)
    assert citation_recall(["a", "a", "x"], {"a", "b"}) == 0.5
    assert citation_precision(["a"], {"a"}) == citation_recall(["a"], {"a"}) == 1.0
    assert citation_precision([], {"a"}) is None
    assert citation_recall([], {"a"}) == 0.0
    assert citation_recall(["a"], set()) is None


def test_per_class_scores_and_confusion() -> None:
    gold = ["a", "a", "b", "b"]
    predicted = ["a", "b", "b", "c"]
    scores = {s.label: s for s in per_class_scores(gold, predicted)}
    assert scores["a"].precision == 1.0 and scores["a"].recall == 0.5
    assert scores["b"].precision == 0.5 and scores["b"].recall == 0.5
    assert scores["c"].support == 0 and scores["c"].f1 == 0.0
    assert scores["a"].f1 == pytest.approx(2 / 3)
    matrix = confusion_matrix(gold, predicted)
    assert matrix.labels == ["a", "b", "c"]
    assert matrix.counts == [[1, 1, 0], [0, 1, 1], [0, 0, 0]]


def test_aggregation() -> None:
    assert mean([1.0, None, 0.0]) == 0.5
    assert mean([None]) is None
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0


DIAGNOSIS_CASES = [
    # (answerability, outcome, searched, gold, retrieved, cited, valid, overlap) -> kind
    ("ANSWERABLE", Outcome.ANSWERED, True, ["a"], ["a"], ["a"], True, 0.5, "ok"),
    ("ANSWERABLE", Outcome.ANSWERED, True, ["a"], ["x"], ["x"], True, 0.5, "retrieval"),
    ("ANSWERABLE", Outcome.ANSWERED, True, ["a"], ["a", "x"], ["x"], True, 0.5, "grounding"),
    ("ANSWERABLE", Outcome.ANSWERED, True, ["a"], ["a"], ["a"], True, 0.0, "grounding"),
    ("ANSWERABLE", Outcome.DECLINED, True, ["a"], ["a"], [], None, 0.0, "behaviour"),
    ("ANSWERABLE", Outcome.ESCALATED, False, ["a"], [], [], None, 0.0, "behaviour"),
    ("ANSWERABLE", Outcome.ANSWERED, True, ["a"], ["a"], ["a"], False, 0.9, "format"),
    ("UNANSWERABLE", Outcome.DECLINED, True, [], ["x"], [], None, 0.0, "ok"),
    ("UNANSWERABLE", Outcome.ANSWERED, True, [], ["x"], ["x"], True, 0.2, "behaviour"),
    ("UNDERSPECIFIED", Outcome.CLARIFY, False, [], [], [], None, 0.0, "ok"),
    ("UNDERSPECIFIED", Outcome.ANSWERED, True, ["a"], ["a"], ["a"], True, 0.5, "behaviour"),
]


@pytest.mark.parametrize(
    (
        "answerability",
        "outcome",
        "searched",
        "gold",
        "retrieved",
        "cited",
        "valid",
        "overlap",
        "kind",
    ),
    DIAGNOSIS_CASES,
)
def test_failure_diagnosis(
    answerability: str,
    outcome: Outcome,
    searched: bool,
    gold: list[str],
    retrieved: list[str],
    cited: list[str],
    valid: bool | None,
    overlap: float,
    kind: str,
) -> None:
    assert (
        diagnose(
            answerability=answerability,  # type: ignore[arg-type]
            outcome=outcome,
            searched=searched,
            gold=gold,
            retrieved=retrieved,
            cited=cited,
            citation_valid=valid,
            overlap=overlap,
        )
        == kind
    )

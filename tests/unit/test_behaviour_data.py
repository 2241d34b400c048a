"""The router's and judge's data builders keep every conversation on one side of a fold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from doubles import HashEmbedder, ListRetriever, chunk

from assistant.evaluation.datasets import SupportQuestion, load_support_qa
from assistant.training.fitting import false_alarm_ceiling, fit_head, folds, recall_floor
from assistant.training.judge_data import ANSWER_KINDS, CLARIFY_KINDS, judge_examples
from assistant.training.router_data import banking_examples, clinc_examples, task_examples
from assistant.triage.examples import read_banking77
from assistant.turn.evidence import SPREAD_FEATURES, EvidenceReader


def test_no_conversation_is_on_both_sides_of_a_fold(shared_data: Path) -> None:
    questions = load_support_qa(shared_data / "behaviour_tasks.jsonl")
    # A judge example and its gold-removed twin come from one question, so one conversation.
    groups = [q.conversation for q in questions for _ in ("answerable", "gold_removed")]
    assert len(set(groups)) == len(questions)
    for train, test in folds(groups):
        assert not {groups[i] for i in train} & {groups[i] for i in test}


def test_router_examples_label_real_rows_by_their_source(shared_data: Path) -> None:
    questions = load_support_qa(shared_data / "behaviour_tasks.jsonl")
    tasks = task_examples(questions)
    # Vague ones too: the judge's clarify head decides after searching.
    assert any(q.answerability == "UNDERSPECIFIED" for q in questions)
    assert all(e.origin == "tasks" for e in tasks)
    assert {e.label for e in tasks} == {"search"}
    clinc = clinc_examples(shared_data / "clinc150_train.jsonl")
    assert {e.label for e in clinc} == {"reply", "search"}
    assert sum(e.source.startswith("clinc150") for e in clinc) == len(clinc)
    banking = banking_examples(read_banking77(shared_data / "banking77_train.jsonl"))
    human = [e for e in banking if e.label == "human"]
    # Requests for a person carry the real message they were attached to as their group.
    assert any(e.source.endswith("+person") and e.group in e.text for e in human)


def test_a_fitted_binary_head_keeps_the_recall_it_was_asked_for() -> None:
    rng = np.random.default_rng(0)
    rows = np.concatenate([rng.normal(1.0, 1.0, (200, 2)), rng.normal(-1.0, 1.0, (200, 2))])
    targets = ["yes"] * 200 + ["no"] * 200
    head = fit_head(
        rows,
        targets,
        [str(i // 2) for i in range(400)],
        kind="judge",
        labels=["no", "yes"],
        inputs=["a", "b"],
        embedder="hash",
        trained_on=["synthetic"],
        rule=recall_floor(0.9),
    )
    assert head.held_out is not None
    assert head.held_out.metrics["positives_passed"] >= 0.9
    passed = head.probabilities(rows[:200])[:, 1] >= head.threshold
    assert passed.mean() >= 0.85


def test_judge_examples_keep_the_texts_a_reader_would_read() -> None:
    question = SupportQuestion.model_validate(
        {
            "qid": "conv<::>2",
            "question": "And the answer?",
            "history": [{"role": "user", "text": "What does passage 2 say?"}],
            "doc_ids": ["doc-2"],
            "answerability": "ANSWERABLE",
        }
    )
    examples = judge_examples(
        [question],
        ListRetriever([chunk(1), chunk(2), chunk(3)]),
        EvidenceReader(HashEmbedder()),
        tenant="default",
        k=2,
    )
    answered, removed = examples
    assert answered.question == "And the answer?" and answered.context == "What does passage 2 say?"
    assert answered.chunk_texts == (chunk(1).text, chunk(2).text)
    assert answered.chunk_labels.tolist() == [False, True]
    assert removed.kind == "gold_removed" and removed.chunk_texts == (chunk(1).text, chunk(3).text)


def test_the_clarify_rule_flags_no_more_clear_questions_than_it_may() -> None:
    rng = np.random.default_rng(1)
    p = np.concatenate([rng.uniform(0.0, 0.7, 300), rng.uniform(0.3, 1.0, 60)])
    y = np.array([0] * 300 + [1] * 60)
    threshold, metrics = false_alarm_ceiling(0.05)(np.stack([1 - p, p], axis=1), y)
    assert np.mean(p[y == 0] >= threshold) <= 0.05
    # The lowest such threshold: one score lower would flag one clear question too many.
    assert np.mean(p[y == 0] >= np.sort(p[y == 0])[-16]) > 0.05
    assert metrics["negatives_flagged"] <= 0.05 < metrics["positives_flagged"]


def test_judge_examples_keep_vague_and_missed_questions_for_the_clarify_head_only() -> None:
    def task(qid: str, answerability: str, gold: list[str]) -> SupportQuestion:
        return SupportQuestion.model_validate(
            {
                "qid": qid,
                "question": "Which one?",
                "history": [],
                "doc_ids": gold,
                "answerability": answerability,
            }
        )

    examples = judge_examples(
        [task("a<::>1", "UNDERSPECIFIED", ["doc-1"]), task("b<::>1", "ANSWERABLE", ["doc-9"])],
        ListRetriever([chunk(1), chunk(2)]),
        EvidenceReader(HashEmbedder()),
        tenant="default",
        k=2,
    )
    assert [(e.kind, e.answers) for e in examples] == [
        ("underspecified", False),
        ("missed", False),
    ]
    assert all(e.kind not in ANSWER_KINDS and e.kind in CLARIFY_KINDS for e in examples)
    assert examples[0].spread.shape == (len(SPREAD_FEATURES),)

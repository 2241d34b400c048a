"""The judge learns from the team's log: which logged turns carry a label, how they become
judge examples, and the turn head's training rows saved beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from doubles import HashEmbedder, ListRetriever, chunk

from assistant.errors import InputError
from assistant.interaction_log import InteractionRecord, LoggedRow
from assistant.schemas import Outcome
from assistant.training.behaviour_fit import fit_turn
from assistant.training.judge_data import LOGGED, TurnRows
from assistant.training.logged_judgements import logged_judgements, turn_label
from assistant.turn.evidence import TURN_FEATURES, EvidenceReader
from assistant.turn.heads import LinearHead


def turn(
    thread: str, index: int, outcome: Outcome, *, question: str = "q", **fields: object
) -> LoggedRow:
    record = InteractionRecord(
        kind="turn",
        question=question,
        thread_id=thread,
        turn=index,
        outcome=outcome,
        queries=[question] if outcome is not Outcome.ESCALATED else [],
        **fields,  # type: ignore[arg-type]
    )
    return LoggedRow(source=f"log:{thread}:{index}", record=record)


def rating(thread: str, index: int, feedback: str) -> LoggedRow:
    record = InteractionRecord(
        question="q",
        thread_id=thread,
        turn=index,
        feedback=feedback,  # type: ignore[arg-type]
    )
    return LoggedRow(source=f"rating:{thread}:{index}", record=record)


@pytest.mark.parametrize(
    ("outcome", "fields", "handed_over", "label"),
    [
        # A reviewer's label wins over the customer's rating.
        (Outcome.ANSWERED, {"answerable": False, "feedback": "up"}, False, False),
        (Outcome.DECLINED, {"answerable": True}, False, True),
        (Outcome.ANSWERED, {"feedback": "up"}, False, True),
        (Outcome.HEDGED, {"feedback": "down"}, False, False),
        (Outcome.ANSWERED, {}, True, False),
        (Outcome.DECLINED, {"feedback": "up"}, False, False),
        # A decline rated down may be a gap in the knowledge base: only a reviewer can tell.
        (Outcome.DECLINED, {"feedback": "down"}, False, None),
        (Outcome.ANSWERED, {}, False, None),
        (Outcome.CLARIFY, {"feedback": "down"}, False, None),
    ],
)
def test_a_logged_turn_is_labelled_by_the_reviewer_then_the_customer(
    outcome: Outcome, fields: dict[str, object], handed_over: bool, label: bool | None
) -> None:
    record = InteractionRecord(kind="turn", question="q", outcome=outcome, **fields)  # type: ignore[arg-type]
    assert turn_label(record, handed_over) is label


def test_labelled_turns_become_judge_examples_searched_again_with_their_context() -> None:
    retriever = ListRetriever([chunk(1), chunk(2)])
    rows = [
        turn("a", 0, Outcome.ANSWERED, question="How do I export?"),
        rating("a", 0, "up"),
        turn("a", 1, Outcome.HEDGED, question="And to a USB drive?", context="How do I export?"),
        turn("a", 2, Outcome.ESCALATED),  # the customer asked for a person after the hedge
        turn("b", 0, Outcome.ANSWERED, question="Unrated question"),
        turn("c", 0, Outcome.DECLINED, question="Reviewed question", answerable=True),
    ]
    result = logged_judgements(
        rows, retriever, EvidenceReader(HashEmbedder(64)), tenant="default", k=2, mode="hybrid"
    )
    assert (result.answered, result.not_answered, result.skipped) == (2, 1, 0)
    assert [(e.question, e.answers) for e in result.examples] == [
        ("How do I export?", True),
        ("And to a USB drive?", False),
        ("Reviewed question", True),
    ]
    assert {e.kind for e in result.examples} == {LOGGED}
    assert [e.conversation for e in result.examples] == ["log:a", "log:a", "log:c"]
    assert result.examples[1].context == "How do I export?"
    # Each labelled turn's own last query was searched again, at the graph's depth.
    assert [query for query, _ in retriever.searches] == [
        "How do I export?",
        "And to a USB drive?",
        "Reviewed question",
    ]
    assert all(e.features.shape == (2, len(e.features[0])) for e in result.examples)


def test_a_labelled_turn_whose_search_finds_nothing_now_is_counted_as_left_out() -> None:
    rows = [turn("a", 0, Outcome.ANSWERED), rating("a", 0, "down")]
    result = logged_judgements(
        rows, ListRetriever([]), EvidenceReader(HashEmbedder(64)), tenant="t", k=5, mode="hybrid"
    )
    assert (result.examples, result.skipped) == ([], 1)


def test_a_hand_written_labelled_question_counts_searched_as_the_graph_would() -> None:
    retriever = ListRetriever([chunk(1)])
    rows = [
        LoggedRow(
            "hand.jsonl:1",
            InteractionRecord(question="Does it work with HomeKit?", answerable=False),
        ),
        LoggedRow(
            "hand.jsonl:2",
            InteractionRecord(
                question="And on Android?", context="How do I back up?", answerable=True
            ),
        ),
        # A hand-written rating without a reviewer's label says nothing about the search.
        LoggedRow("hand.jsonl:3", InteractionRecord(question="Thanks", feedback="up")),
    ]
    result = logged_judgements(
        rows, retriever, EvidenceReader(HashEmbedder(64)), tenant="default", k=1, mode="hybrid"
    )
    assert [(e.question, e.answers) for e in result.examples] == [
        ("Does it work with HomeKit?", False),
        ("And on Android?", True),
    ]
    assert [q for q, _ in retriever.searches] == [
        "Does it work with HomeKit?",
        "How do I back up? And on Android?",
    ]
    assert all(e.conversation.startswith("log:") for e in result.examples)


def synthetic_rows(n: int, seed: int = 0) -> TurnRows:
    rng = np.random.default_rng(seed)
    answers = rng.random(n) < 0.6
    rows = rng.normal(size=(n, len(TURN_FEATURES)))
    rows[:, 1] += np.where(answers, 1.0, -1.0)  # best_sentence tells them apart, noisily
    return TurnRows(
        rows=rows,
        answers=answers,
        groups=np.array([f"c{i // 2}" for i in range(n)]),
        weights=np.ones(n),
    )


def test_turn_rows_are_saved_beside_the_head_and_read_back(tmp_path: Path) -> None:
    rows = synthetic_rows(40)
    rows.save(tmp_path)
    loaded = TurnRows.load(tmp_path)
    np.testing.assert_array_equal(loaded.rows, rows.rows)
    np.testing.assert_array_equal(loaded.answers, rows.answers)
    np.testing.assert_array_equal(loaded.groups, rows.groups)
    assert loaded.inputs == TURN_FEATURES


def test_turn_rows_missing_or_of_other_features_are_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--tasks/--corpus"):
        TurnRows.load(tmp_path)
    rows = synthetic_rows(10)
    TurnRows(rows.rows[:, :3], rows.answers, rows.groups, rows.weights, TURN_FEATURES[:3]).save(
        tmp_path
    )
    with pytest.raises(InputError, match="other features"):
        TurnRows.load(tmp_path)
    (tmp_path / "training_rows.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a judge training-rows file"):
        TurnRows.load(tmp_path)


def test_weighted_log_rows_move_the_turn_head_where_the_team_labelled() -> None:
    base = synthetic_rows(400)
    # The team's traffic: searches that look like answers (high best_sentence) but are not.
    taught = np.zeros((30, len(TURN_FEATURES)))
    taught[:, 1] = 1.5
    log = TurnRows(taught, np.zeros(30, dtype=bool), np.array(["log:x"] * 30), np.full(30, 5.0))
    before = fit_turn(base, embedder="hash", trained_on=["t"])
    after = fit_turn(base + log, embedder="hash", trained_on=["t", "log"])
    assert after.probabilities(taught[:1])[0, 1] < before.probabilities(taught[:1])[0, 1] - 0.1


def test_enough_logged_turns_of_each_label_set_the_thresholds_for_the_team_knowledge_base() -> None:
    base = synthetic_rows(400)
    # The team's pages all look alike: its answerable and unanswerable searches both score
    # higher than the shipped ones, so the shipped thresholds answer most of its negatives.
    team = synthetic_rows(60, seed=2)
    team.rows[:, 1] += 2.0
    logged = TurnRows(
        team.rows,
        team.answers,
        np.array([f"log:t{i}" for i in range(60)]),
        np.ones(60),
    )
    few = TurnRows(logged.rows[:12], logged.answers[:12], logged.groups[:12], logged.weights[:12])
    assert min(few.answers.sum(), (~few.answers).sum()) < 10
    shipped = fit_turn(base, embedder="hash", trained_on=["t"])
    on_few = fit_turn(base + few, embedder="hash", trained_on=["t"])
    on_team = fit_turn(base + logged, embedder="hash", trained_on=["t"])

    def stopped(head: LinearHead) -> float:
        p = head.probabilities(team.rows[~team.answers])[:, 1]
        return float(np.mean(p < head.threshold))

    assert on_team.held_out.examples == 60  # the rules read the team's rows only
    assert on_few.held_out.examples == 412
    assert stopped(on_team) > stopped(shipped) + 0.2


def test_the_candidate_judge_variant_without_its_folder_is_refused_before_anything_loads(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from assistant.interfaces.cli.main import app

    data = tmp_path / "tasks.jsonl"
    data.write_text("{}\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["eval", "answers", "--data", str(data), "--compare", "rag,candidate-judge"]
    )
    assert result.exit_code != 0
    assert "needs --judge-dir" in result.output

"""The flywheel's labels: which logged turn becomes which training example, and which waits for
a person to review it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from assistant.interaction_log import InteractionRecord, LoggedRow, read_log
from assistant.interfaces.cli.adapters_commands import adapters_app
from assistant.schemas import ChatExample, EscalationDecision, Outcome, TriageResult
from assistant.training.flywheel import (
    BY_CATEGORY,
    CONFIRMED_HANDOVER,
    CUSTOMER_HANDOVER,
    FLAGGED,
    REVIEW,
    THUMBS_DOWN,
    THUMBS_UP,
    UNKNOWN_CATEGORY,
    flywheel_set,
)
from assistant.triage.examples import KB_NO_ANSWER, read_examples
from assistant.triage.inference import parse_reply

QUESTION = "Someone took money from my account"
ANSWER = "Contact us from the app [1]."
MODEL_NOTE = "MODEL-WRITTEN NOTE"


def turn(n: int = 0, thread: str = "t-1", **fields: object) -> InteractionRecord:
    values: dict[str, object] = {
        "kind": "turn",
        "question": QUESTION,
        "answer": ANSWER,
        "thread_id": thread,
        "turn": n,
        "outcome": Outcome.ANSWERED,
    }
    return InteractionRecord.model_validate({**values, **fields})


def rating(
    value: str | None, n: int = 0, thread: str = "t-1", **fields: object
) -> InteractionRecord:
    values = {"question": QUESTION, "feedback": value, "thread_id": thread, "turn": n}
    return InteractionRecord.model_validate({**values, **fields})


def handed_over(n: int = 0, *, by: str = "assistant", reason: str = "dispute") -> InteractionRecord:
    escalation = EscalationDecision(escalate=True, reason=reason, summary=MODEL_NOTE)
    return turn(
        n,
        answer="I am handing this conversation to a human agent.",
        outcome=Outcome.ESCALATED,
        escalation=escalation,
        escalated_by=by,
        queries=[QUESTION],
    )


def rows(*records: InteractionRecord) -> list[LoggedRow]:
    return [LoggedRow(source=f"log:{i}", record=r) for i, r in enumerate(records, start=1)]


def decision(example: ChatExample) -> EscalationDecision:
    return parse_reply(example.reply, EscalationDecision)


def context(example: ChatExample) -> str:
    return example.messages[-2].content.split("Context: ", 1)[1]


# --- ratings ---------------------------------------------------------------------------------


def test_a_thumbs_down_joins_its_turn_and_becomes_an_unresolved_escalation() -> None:
    result = flywheel_set(rows(turn(), rating("down")))

    [example] = result.escalation
    assert (decision(example).escalate, decision(example).reason) == (True, "unresolved")
    assert QUESTION in decision(example).summary
    assert context(example) == f"The assistant answered: {ANSWER}"
    assert result.cases == {THUMBS_DOWN: 1}


def test_the_latest_rating_of_a_turn_wins() -> None:
    result = flywheel_set(rows(turn(), rating("up"), rating("down")))
    assert [decision(e).reason for e in result.escalation] == ["unresolved"]


def test_a_thumbs_up_is_kept_as_a_non_escalation() -> None:
    result = flywheel_set(rows(turn(), rating("up")))
    assert [decision(e).escalate for e in result.escalation] == [False]
    assert result.cases == {THUMBS_UP: 1}


def test_an_unrated_ordinary_turn_makes_no_example() -> None:
    result = flywheel_set(rows(turn()))
    assert (result.escalation, result.review, result.cases) == ([], [], {})


def test_ratings_without_a_turn_stand_alone_as_they_always_did() -> None:
    legacy = [
        InteractionRecord(question="Where is my card?", answer="In the post.", feedback="down"),
        InteractionRecord(question="Where is my card?", answer="In the post.", feedback="+1"),
    ]
    result = flywheel_set(rows(*legacy))
    assert [decision(e).escalate for e in result.escalation] == [True, False]


def test_a_rating_of_a_humans_reply_says_nothing_about_the_bot() -> None:
    reply = turn(1, outcome=Outcome.HUMAN_REPLY, answer="Hi, Sam here.")
    result = flywheel_set(rows(handed_over(), reply, rating("down", n=1)))
    assert all(e.source != "log:2" for e in result.escalation)


# --- hand-overs ------------------------------------------------------------------------------


def test_a_customer_asking_for_a_person_is_a_human_requested_escalation() -> None:
    result = flywheel_set(rows(turn(0), handed_over(1, by="customer", reason="human_requested")))

    [example] = result.escalation
    assert (decision(example).escalate, decision(example).reason) == (True, "human_requested")
    # The adapter sees what the customer saw before asking: the previous answer.
    assert context(example) == f"The assistant answered: {ANSWER}"
    assert result.cases == {CUSTOMER_HANDOVER: 1}


def test_a_hand_over_by_the_assistant_nobody_confirmed_goes_to_review() -> None:
    result = flywheel_set(rows(handed_over()))
    assert result.escalation == []
    assert [r.escalation.reason for r in result.review if r.escalation] == ["dispute"]
    assert result.cases == {REVIEW: 1}


def test_a_thumbs_down_on_a_hand_over_is_not_a_label_for_it() -> None:
    # The customer may dislike waiting, not the hand-over: it stays for review.
    result = flywheel_set(rows(handed_over(), rating("down")))
    assert result.escalation == [] and result.cases == {REVIEW: 1}


def test_a_hand_over_a_human_replied_to_is_confirmed_with_its_reason() -> None:
    reply = turn(1, outcome=Outcome.HUMAN_REPLY, answer="Hi, Sam here.")
    result = flywheel_set(rows(handed_over(reason="dispute"), reply))

    [example] = result.escalation
    assert (decision(example).escalate, decision(example).reason) == (True, "dispute")
    assert context(example) == KB_NO_ANSWER  # it had searched, as the escalate node saw it
    assert result.cases == {CONFIRMED_HANDOVER: 1}


def test_a_hand_over_rated_up_is_confirmed() -> None:
    result = flywheel_set(rows(handed_over(reason="unanswerable"), rating("up")))
    assert [decision(e).reason for e in result.escalation] == ["unanswerable"]


def test_summaries_are_rebuilt_from_the_customers_words_never_the_models_note() -> None:
    reply = turn(1, outcome=Outcome.HUMAN_REPLY, answer="Hi")
    result = flywheel_set(rows(handed_over(), reply))
    summary = decision(result.escalation[0]).summary
    assert MODEL_NOTE not in summary
    assert summary == f"Disputed transaction. Customer wrote: {QUESTION}"


# --- citations -------------------------------------------------------------------------------


def test_an_unrated_answer_with_removed_citations_goes_to_review() -> None:
    result = flywheel_set(rows(turn(removed_citations=2)))
    assert result.escalation == [] and len(result.review) == 1
    assert result.cases == {REVIEW: 1, FLAGGED: 1}


def test_an_answer_with_unsupported_sentences_rated_down_is_a_thumbs_down() -> None:
    result = flywheel_set(rows(turn(unsupported_sentences=["It is free."]), rating("down")))
    assert [decision(e).reason for e in result.escalation] == ["unresolved"]
    assert result.cases == {THUMBS_DOWN: 1, FLAGGED: 1}


def test_a_reviewed_category_labels_a_hard_case_by_the_policy_table() -> None:
    result = flywheel_set(
        rows(turn(removed_citations=1), rating(None, category="compromised_card"))
    )

    [example] = result.escalation
    assert (decision(example).escalate, decision(example).reason) == (True, "security")
    [triage] = result.triage
    assert parse_reply(triage.reply, TriageResult).category == "compromised_card"
    assert result.cases == {BY_CATEGORY: 1, FLAGGED: 1}


def test_a_category_outside_the_policy_table_is_counted_and_not_used() -> None:
    result = flywheel_set(rows(turn(category="no_such_intent", removed_citations=1)))
    assert result.triage == [] and result.escalation == []
    assert result.cases == {UNKNOWN_CATEGORY: 1, REVIEW: 1, FLAGGED: 1}


# --- the command -----------------------------------------------------------------------------


def app() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(adapters_app, name="adapters")
    return root


def write_log(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_build_data_writes_examples_and_the_review_file_and_reports_skipped_lines(
    tmp_path: Path,
) -> None:
    log = write_log(
        tmp_path / "interactions.jsonl",
        [
            turn().model_dump_json(),
            rating("down").model_dump_json(),
            "{torn line",
            turn(0, thread="t-2", removed_citations=1).model_dump_json(),
        ],
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app(), ["adapters", "build-data", "--from-log", str(log), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "skipped 1 malformed line" in result.output and "interactions.jsonl:3" in result.output

    escalation = read_examples(out / "escalation.train.jsonl") + read_examples(
        out / "escalation.dev.jsonl"
    )
    assert [decision(e).reason for e in escalation] == ["unresolved"]
    review = read_log(out / "review.jsonl", strict=True).rows
    assert [r.record.thread_id for r in review] == ["t-2"]
    assert (out / "triage.train.jsonl").exists()


def test_build_data_strict_stops_at_a_malformed_line(tmp_path: Path) -> None:
    log = write_log(tmp_path / "interactions.jsonl", ["{torn line"])
    argv = ["adapters", "build-data", "--from-log", str(log), "--out", str(tmp_path), "--strict"]
    result = CliRunner().invoke(app(), argv)
    assert result.exit_code == 1
    # The message names the file and line (rich wraps it at the terminal's width).
    assert "interactions.jsonl:1 is not an interaction-log row" in result.output.replace("\n", "")


def test_a_reviewed_file_passed_back_labels_what_was_left_for_review(tmp_path: Path) -> None:
    log = write_log(tmp_path / "interactions.jsonl", [handed_over().model_dump_json()])
    out = tmp_path / "first"
    CliRunner().invoke(app(), ["adapters", "build-data", "--from-log", str(log), "--out", str(out)])
    [row] = [json.loads(line) for line in (out / "review.jsonl").read_text().splitlines()]

    row["category"] = "transaction_charged_twice"  # what a reviewer adds
    reviewed = write_log(tmp_path / "reviewed.jsonl", [json.dumps(row)])
    again = tmp_path / "second"
    argv = ["adapters", "build-data", "--from-log", str(log), "--from-log", str(reviewed)]
    result = CliRunner().invoke(app(), [*argv, "--out", str(again)])
    assert result.exit_code == 0, result.output

    examples = read_examples(again / "escalation.train.jsonl") + read_examples(
        again / "escalation.dev.jsonl"
    )
    assert [(decision(e).escalate, decision(e).reason) for e in examples] == [(True, "dispute")]
    assert (again / "review.jsonl").read_text() == ""

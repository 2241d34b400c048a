"""`assistant adapters hard-cases`: which logged turns a reviewer should label, and the
labelling file the builders read back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from assistant.interaction_log import InteractionRecord, JsonlLog, read_log
from assistant.interfaces.cli.main import app
from assistant.schemas import Action, Outcome
from assistant.training.flywheel import THUMBS_DOWN, flywheel_set
from assistant.training.hard_cases import hard_cases, read_routed

START = datetime(2026, 12, 1, tzinfo=UTC)


def turn(
    thread: str, n: int, outcome: Outcome, question: str, **extra: object
) -> InteractionRecord:
    return InteractionRecord(
        kind="turn",
        question=question,
        answer=f"answer to {question}",
        thread_id=thread,
        turn=n,
        outcome=outcome,
        action=Action.RETRIEVE,
        at=START + timedelta(minutes=n),
        variant="a",
        **extra,  # type: ignore[arg-type]
    )


def rating(thread: str, n: int, feedback: str) -> InteractionRecord:
    return InteractionRecord(
        question="-",
        feedback=feedback,
        thread_id=thread,
        turn=n,
        at=START,  # type: ignore[arg-type]
    )


def a_log(path: Path) -> Path:
    log = JsonlLog(path)
    for record in (
        turn("fine", 0, Outcome.ANSWERED, "How do refunds work?"),
        rating("fine", 0, "up"),
        turn("rated-down", 0, Outcome.ANSWERED, "Where is my parcel?"),
        rating("rated-down", 0, "up"),
        rating("rated-down", 0, "down"),  # changed their mind: the latest counts
        turn("handed", 0, Outcome.ANSWERED, "Can I change my address?"),
        turn("handed", 1, Outcome.ESCALATED, "That did not help, get me a person"),
        turn("flagged", 0, Outcome.ANSWERED, "Which plans include SSO?", removed_citations=1),
        turn("declined-then-handed", 0, Outcome.DECLINED, "Do you sell gift cards?"),
        turn("declined-then-handed", 1, Outcome.ESCALATED, "Then a person please"),
        turn("unsure", 0, Outcome.HEDGED, "Does it work with HomeKit?"),
        turn("human", 0, Outcome.ESCALATED, "Talk to a human"),
        turn("human", 1, Outcome.HUMAN_REPLY, "Hello, Sam here"),
    ):
        log.append(record)
    return path


def test_thumbs_down_a_hand_over_after_an_answer_flagged_citations_and_hedges_are_hard_cases(
    tmp_path: Path,
) -> None:
    cases = hard_cases(read_log(a_log(tmp_path / "log.jsonl")).rows)
    assert [(c.thread_id, c.turn, c.reasons) for c in cases] == [
        ("rated-down", 0, ["thumbs down"]),
        ("handed", 0, ["handed over after an answer"]),
        ("flagged", 0, ["citations flagged"]),
        ("unsure", 0, ["judge unsure"]),
    ]
    assert cases[1].question == "Can I change my address?"  # the answer that did not settle it
    assert all(c.variant == "a" for c in cases)


def test_the_labelling_file_shows_the_reviewer_fields_and_feeds_the_builders(
    tmp_path: Path,
) -> None:
    out = tmp_path / "hard.jsonl"
    result = CliRunner().invoke(
        app,
        ["adapters", "hard-cases", "--log", str(a_log(tmp_path / "log.jsonl")), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "4 hard case(s)" in result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["reasons"] for row in rows] == [
        ["thumbs down"],
        ["handed over after an answer"],
        ["citations flagged"],
        ["judge unsure"],
    ]
    # Empty until reviewed, but there to be filled in (the thumbs-down row keeps its rating).
    assert [(r["category"], r["feedback"], r["route"]) for r in rows] == [
        (None, "down", None),
        (None, None, None),
        (None, None, None),
        (None, None, None),
    ]
    assert read_routed(out) == []  # nothing reviewed yet

    # The reviewer labels the hand-over's answer and the flagged one.
    rows[1]["feedback"], rows[1]["route"] = "down", "human"
    rows[2]["category"], rows[2]["route"] = "card_arrival", "search"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    routed = read_routed(out)
    assert [(r.text, r.route) for r in routed] == [
        ("Can I change my address?", "human"),
        ("Which plans include SSO?", "search"),
    ]
    reviewed = flywheel_set(read_log(out, strict=True).rows)
    assert reviewed.cases[THUMBS_DOWN] == 2  # the customer's and the reviewer's
    # The reviewed category made a triage example, its reply the policy's JSON for it.
    assert [json.loads(e.messages[-1].content)["category"] for e in reviewed.triage] == [
        "card_arrival"
    ]


def test_since_keeps_only_recent_hard_cases(tmp_path: Path) -> None:
    rows = read_log(a_log(tmp_path / "log.jsonl")).rows
    assert hard_cases(rows, since=START + timedelta(hours=1)) == []

"""Data builders on small real slices of the shared data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant.errors import InputError
from assistant.policy import policy_for, shipped_policy
from assistant.schemas import ChatExample, EscalationDecision, TriageResult
from assistant.triage.examples import (
    HUMAN_REQUEST_PHRASES,
    KB_HAS_ANSWER,
    KB_NO_ANSWER,
    escalation_examples,
    examples_hash,
    is_dev,
    read_banking77,
    read_examples,
    read_support_tasks,
    split,
    text_bucket,
    triage_examples,
    write_examples,
)
from assistant.triage.inference import ESCALATION_REGEX, parse_reply, triage_regex


def _slice(shared: Path, name: str, tmp: Path, step: int) -> Path:
    """Every `step`-th line of a shared file (spread over its labels), outside the repo."""
    lines = (shared / name).read_text(encoding="utf-8").splitlines()[::step]
    path = tmp / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def banking(shared_data: Path, tmp_path: Path) -> Path:
    return _slice(shared_data, "banking77_train.jsonl", tmp_path, 50)


@pytest.fixture
def tasks(shared_data: Path, tmp_path: Path) -> Path:
    return _slice(shared_data, "support_qa_dev.jsonl", tmp_path, 1)


def test_triage_replies_follow_the_policy_table_and_the_constrained_shape(banking: Path) -> None:
    rows = read_banking77(banking)
    examples = triage_examples(rows)
    assert len(examples) == len(rows) > 100
    for row, example in zip(rows, examples, strict=True):
        result = parse_reply(example.reply, TriageResult)
        policy = policy_for(row.label)
        assert (result.category, result.priority, result.needs_human) == (
            row.label,
            policy.priority,
            policy.needs_human,
        )
        assert example.messages[1].content == row.text
        assert re.fullmatch(triage_regex(shipped_policy()), example.reply)


def test_escalation_follows_policy_knowledge_base_and_requests_for_a_person(
    banking: Path, tasks: Path
) -> None:
    examples = escalation_examples(read_banking77(banking), read_support_tasks(tasks))
    by_reason: dict[str, list[ChatExample]] = {}
    for example in examples:
        assert re.fullmatch(ESCALATION_REGEX, example.reply)
        decision = parse_reply(example.reply, EscalationDecision)
        by_reason.setdefault(decision.reason, []).append(example)
    assert {"none", "unanswerable", "human_requested", "dispute", "security"} <= set(by_reason)

    for example in by_reason["unanswerable"]:
        assert KB_NO_ANSWER in example.messages[1].content
    for example in by_reason["none"]:
        assert KB_NO_ANSWER not in example.messages[1].content
    assert any(KB_HAS_ANSWER in e.messages[1].content for e in by_reason["none"])
    for example in by_reason["human_requested"]:
        message = example.messages[1].content
        assert any(phrase in message for phrase in HUMAN_REQUEST_PHRASES)


def test_summaries_quote_the_real_request_and_nothing_else(banking: Path) -> None:
    rows = read_banking77(banking)
    for example in escalation_examples(rows):
        decision = parse_reply(example.reply, EscalationDecision)
        if not decision.escalate:
            assert decision.summary == ""
            continue
        # The summary ends with the customer's own words (the key), never a hand-written phrase.
        words = " ".join(example.key.split())
        assert decision.summary.endswith(words) or "…" in decision.summary
        assert not any(phrase in decision.summary for phrase in HUMAN_REQUEST_PHRASES)


def test_the_hold_out_is_stable_and_ignores_case_and_spacing() -> None:
    assert text_bucket("I lost my card") == text_bucket("  i LOST my   card ") == 24
    # Pinned: a change of the hash would silently move examples between train and dev.
    assert [n for n in range(60) if is_dev(f"message {n}")] == [14, 28, 33, 46, 56]


def test_dev_is_about_ten_percent_and_never_shares_a_text_with_train(shared_data: Path) -> None:
    rows = read_banking77(shared_data / "banking77_train.jsonl")
    train, dev = split(escalation_examples(rows))
    assert 0.08 < len(dev) / (len(train) + len(dev)) < 0.12
    norm = lambda e: " ".join(e.key.casefold().split())  # noqa: E731
    assert not {norm(e) for e in train} & {norm(e) for e in dev}
    # Triage and escalation put the same message on the same side.
    _, triage_dev = split(triage_examples(rows))
    assert {e.key for e in triage_dev} <= {e.key for e in dev}


def test_examples_round_trip_through_jsonl(banking: Path, tmp_path: Path) -> None:
    examples = triage_examples(read_banking77(banking))[:20]
    path = tmp_path / "out" / "triage.jsonl"
    write_examples(examples, path)
    again = read_examples(path)
    assert again == examples
    assert examples_hash(again) == examples_hash(examples)
    assert examples_hash(again[1:]) != examples_hash(examples)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"text": "hi", "label": "card_arrival"}\n{"text": "  ", "label": "x"}\n', r":2: .*text"),
        (b'{"text": "hi"}\n', r":1: missing field `label`"),
        (b"[1, 2]\n", r":1: not a JSON object"),
        (b'{"text": "caf\xe9", "label": "x"}\n', "cannot read"),
    ],
)
def test_a_bad_banking_file_is_a_clear_error_naming_the_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "banking.jsonl"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_banking77(path)


def test_support_tasks_take_the_last_earlier_user_turn_as_context(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    history = [
        {"role": "user", "text": "first"},
        {"role": "agent", "text": "reply"},
        {"role": "user", "text": " second "},
    ]
    row = {
        "question": "and now?",
        "doc_ids": [],
        "answerability": "UNANSWERABLE",
        "history": history,
    }
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    [task] = read_support_tasks(path)
    assert (task.previous, task.question, task.source) == ("second", "and now?", "tasks.jsonl:1")

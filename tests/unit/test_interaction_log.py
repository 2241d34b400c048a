"""The interaction log: one row format, two backends, retention, redaction, careful reading."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import ValidationError

from assistant.errors import InputError, InteractionLogError
from assistant.interaction_log import (
    InteractionLogger,
    InteractionRecord,
    JsonlLog,
    load_redactor,
    open_interaction_log,
    rating_record,
    read_log,
    redact_personal_data,
)
from assistant.schemas import EscalationDecision, Outcome
from assistant.settings import Settings

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def turn(
    question: str = "How do refunds work?", *, at: datetime = NOW, **fields: object
) -> InteractionRecord:
    return InteractionRecord(
        kind="turn",
        question=question,
        answer="Refunds take five days [1].",
        thread_id="t-1",
        turn=0,
        at=at,
        outcome=Outcome.ANSWERED,
        **fields,
    )


def configured(settings: Settings, backend: str, **values: object) -> Settings:
    return settings.model_copy(update={"interaction_log": backend, **values})


def write_lines(path: Path, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(row + "\n" for row in rows), encoding="utf-8")


# --- redaction -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail me at jane.doe+bank@example.co.uk please", "Mail me at [email] please"),
        ("My card 4111 1111 1111 1111 was stolen", "My card [card] was stolen"),
        ("card 4111-1111-1111-1111.", "card [card]."),
        ("card no 5500000000000004", "card no [card]"),
        ("Call +44 20 7946 0958 today", "Call [phone] today"),
        ("Call (555) 123-4567", "Call [phone]"),
        ("my mobile is 0612345678", "my mobile is [phone]"),
        ("ring 0044 20 7946 0958", "ring [phone]"),
    ],
)
def test_the_builtin_redactor_masks_emails_cards_and_phone_numbers(
    text: str, expected: str
) -> None:
    assert redact_personal_data(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I paid 25.99 EUR on 2024-01-01 at 12:30",
        "Refunds take 5 business days",
        "Python 3.11.2 and order 12345",
        "top up limit is 10,000 per day",
    ],
)
def test_the_builtin_redactor_leaves_dates_amounts_and_short_numbers(text: str) -> None:
    assert redact_personal_data(text) == text


def test_the_redaction_hook_is_applied_to_every_free_text_field_before_writing(
    settings: Settings,
) -> None:
    logger = open_interaction_log(
        configured(settings, "jsonl", interaction_log_redactor="builtins:str.upper")
    )
    logger.append(
        turn(
            "where is my refund?",
            queries=["refund status"],
            unsupported_sentences=["it is late"],
            comment="too slow",
            escalation=EscalationDecision(escalate=True, reason="dispute", summary="a dispute"),
            category="Refund_not_showing_up",
        )
    )
    [row] = read_log(settings.interaction_log_path, strict=True).rows
    record = row.record
    assert record.question == "WHERE IS MY REFUND?"
    assert record.answer == "REFUNDS TAKE FIVE DAYS [1]."
    assert record.queries == ["REFUND STATUS"]
    assert record.unsupported_sentences == ["IT IS LATE"]
    assert record.comment == "TOO SLOW"
    assert record.escalation is not None and record.escalation.summary == "A DISPUTE"
    # Ids and labels are not free text: they stay as they were.
    assert (record.thread_id, record.category) == ("t-1", "Refund_not_showing_up")


def test_the_builtin_redactor_is_on_by_default(settings: Settings) -> None:
    logger = open_interaction_log(settings)
    logger.append(turn("I'm jane@example.com, card 4111111111111111"))
    text = settings.interaction_log_path.read_text(encoding="utf-8")
    assert "jane@example.com" not in text and "4111111111111111" not in text
    assert "I'm [email], card [card]" in text


def test_an_empty_redactor_setting_writes_text_as_it_is(settings: Settings) -> None:
    logger = open_interaction_log(configured(settings, "jsonl", interaction_log_redactor=""))
    logger.append(turn("I'm jane@example.com"))
    assert "jane@example.com" in settings.interaction_log_path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:redact", "cannot import"),
        ("assistant.interaction_log:no_such_function", "has no"),
        ("assistant.interaction_log.logger:PRUNE_EVERY", "not callable"),
    ],
)
def test_a_redactor_that_cannot_be_loaded_is_an_error_naming_the_setting(
    spec: str, message: str
) -> None:
    with pytest.raises(InteractionLogError, match=message) as error:
        load_redactor(spec)
    assert "ASSISTANT_INTERACTION_LOG_REDACTOR" in str(error.value)


def test_a_redactor_setting_that_is_not_module_colon_function_is_refused() -> None:
    with pytest.raises(ValidationError, match="interaction_log_redactor"):
        Settings(_env_file=None, interaction_log_redactor="just a name")


def test_a_redactor_returning_something_else_than_text_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    logger = InteractionLogger(JsonlLog(path), redact=lambda text: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(InteractionLogError, match="returned NoneType"):
        logger.append(turn())
    assert not path.exists()


# --- both backends ---------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["jsonl", "sqlite"])
def test_rows_read_back_as_they_were_written_in_either_backend(
    settings: Settings, backend: str
) -> None:
    settings = configured(settings, backend)
    logger = open_interaction_log(settings)
    written = [
        turn(retrieved=["c-1", "c-2"], removed_citations=1),
        InteractionRecord(
            question="How do refunds work?", feedback="down", thread_id="t-1", turn=0
        ),
    ]
    for record in written:
        logger.append(record)
    logger.close()

    assert settings.interaction_log_path.name == f"interactions.{backend}"
    rows = read_log(settings.interaction_log_path, strict=True).rows
    assert [row.record.kind for row in rows] == ["turn", "feedback"]
    assert rows[0].record.retrieved == ["c-1", "c-2"]
    assert rows[0].record.removed_citations == 1
    assert rows[1].record.feedback == "down" and rows[1].record.key == ("t-1", 0)
    assert rows[1].record.at is not None  # stamped on append, so retention applies to it


def test_off_writes_nothing(settings: Settings) -> None:
    logger = open_interaction_log(configured(settings, "off"))
    logger.append(turn())
    assert logger.path is None
    assert not settings.data_dir.exists() or not any(settings.data_dir.iterdir())


# --- retention -------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["jsonl", "sqlite"])
def test_rows_older_than_the_retention_are_pruned_when_the_log_opens(
    settings: Settings, backend: str
) -> None:
    settings = configured(settings, backend, interaction_log_retention_days=30)
    first = open_interaction_log(settings, clock=Clock(NOW - timedelta(days=100)))
    first.append(turn("old question", at=NOW - timedelta(days=31)))
    first.append(turn("recent question", at=NOW - timedelta(days=29)))
    first.close()

    open_interaction_log(settings, clock=Clock(NOW)).close()
    questions = [r.record.question for r in read_log(settings.interaction_log_path).rows]
    assert questions == ["recent question"]


def test_rows_expire_on_append_once_the_last_pruning_is_an_hour_old(settings: Settings) -> None:
    settings = configured(settings, "jsonl", interaction_log_retention_days=1)
    clock = Clock(NOW)
    logger = open_interaction_log(settings, clock=clock)  # prunes now
    logger.append(turn("expired", at=NOW - timedelta(days=2)))

    def questions() -> list[str]:
        return [r.record.question for r in read_log(settings.interaction_log_path).rows]

    clock.now = NOW + timedelta(minutes=30)
    logger.append(turn("second", at=clock.now))
    assert questions() == ["expired", "second"]  # pruned half an hour ago: not yet again

    clock.now = NOW + timedelta(minutes=61)
    logger.append(turn("third", at=clock.now))
    assert questions() == ["second", "third"]


def test_a_retention_of_zero_keeps_rows_for_ever(settings: Settings) -> None:
    settings = configured(settings, "jsonl", interaction_log_retention_days=0)
    open_interaction_log(settings).append(turn(at=NOW - timedelta(days=3650)))
    open_interaction_log(settings).close()
    assert len(read_log(settings.interaction_log_path).rows) == 1


def test_pruning_keeps_malformed_lines_and_rows_without_a_time(settings: Settings) -> None:
    settings = configured(settings, "jsonl", interaction_log_retention_days=30)
    path = settings.interaction_log_path
    old = turn("old", at=NOW - timedelta(days=90)).model_dump_json()
    write_lines(
        path,
        [old, "{not json", '{"question": "hand-written", "feedback": "down"}', '{"answer": 1}'],
    )

    open_interaction_log(settings, clock=Clock(NOW)).close()

    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines == [
        "{not json",
        '{"question": "hand-written", "feedback": "down"}',
        '{"answer": 1}',
    ]


# --- reading ---------------------------------------------------------------------------------


def test_malformed_lines_are_skipped_with_their_line_number_and_the_file_is_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "interactions.jsonl"
    good = turn().model_dump_json()
    write_lines(path, [good, "{torn", "", '{"question": ""}', good])
    before = path.read_bytes()

    contents = read_log(path)

    assert len(contents.rows) == 2
    assert [row.source for row in contents.rows] == ["interactions.jsonl:1", "interactions.jsonl:5"]
    assert len(contents.skipped) == 2
    assert contents.skipped[0].startswith(f"{path}:2 ")
    assert contents.skipped[1].startswith(f"{path}:4 ")
    assert path.read_bytes() == before


def test_strict_reading_stops_at_the_first_malformed_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "interactions.jsonl"
    write_lines(path, [turn().model_dump_json(), '{"feedback": "down"}'])
    with pytest.raises(InputError, match=r"interactions\.jsonl:2 is not an interaction-log row"):
        read_log(path, strict=True)


def test_a_line_cut_short_by_a_crash_does_not_swallow_the_next_row(tmp_path: Path) -> None:
    path = tmp_path / "interactions.jsonl"
    path.write_text(turn("first").model_dump_json() + "\n" + '{"question": "cut', encoding="utf-8")
    InteractionLogger(JsonlLog(path)).append(turn("after the crash"))

    contents = read_log(path)
    assert [row.record.question for row in contents.rows] == ["first", "after the crash"]
    assert len(contents.skipped) == 1


def test_a_missing_log_is_a_clear_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Cannot read"):
        read_log(tmp_path / "nope.jsonl")


# --- one format ------------------------------------------------------------------------------

OLD_API_ROW = {
    "question": "How long does a refund take?",
    "answer": "Five days [1].",
    "feedback": "down",
    "thread_id": "abc",
    "tenant": "acme",
    "comment": "wrong",
    "outcome": "answered",
    "at": "2025-01-02T03:04:05.123456Z",
}


@pytest.mark.parametrize(
    "row",
    [OLD_API_ROW, {"question": "Hello", "answer": "Hi", "feedback": "+1"}, {"question": "Hi"}],
)
def test_rows_written_before_turns_were_logged_still_read_as_ratings(
    tmp_path: Path, row: dict[str, object]
) -> None:
    path = tmp_path / "feedback.jsonl"
    write_lines(path, [json.dumps(row)])
    [read] = read_log(path, strict=True).rows
    assert read.record.kind == "feedback"
    assert read.record.question == row["question"]
    assert read.record.key is None  # no turn: it stands alone, as it always did


def test_a_naive_time_is_read_as_utc() -> None:
    record = InteractionRecord(question="q", at=datetime(2025, 1, 1, 12, 0))
    assert record.at == datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def test_a_rating_names_the_question_and_answer_of_its_own_turn() -> None:
    messages = [
        HumanMessage("first?"),
        AIMessage("one [1]."),
        HumanMessage("second?"),
        AIMessage("handing over"),
        AIMessage("Sam here."),
    ]
    state = {"messages": messages, "tenant": "acme"}
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def rated(turn: int | None) -> tuple[str, str, int | None] | None:
        record = rating_record(
            state, thread_id="t", rating="up", turn=turn, comment=None, outcome=None, at=at
        )
        return None if record is None else (record.question, record.answer, record.turn)

    assert rated(0) == ("first?", "one [1].", 0)
    assert rated(2) == ("second?", "Sam here.", 2)
    assert rated(None) == ("second?", "Sam here.", 2)  # the latest answer
    assert rated(3) is None
    assert (
        rating_record(
            {"messages": []},
            thread_id="t",
            rating="up",
            turn=None,
            comment=None,
            outcome=None,
            at=at,
        )
        is None
    )

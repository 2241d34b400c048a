"""The interaction log: one typed row per turn of the assistant and per rating of one, the
material of the adapters' next training set (`assistant adapters build-data --from-log`).

Every turn (`Assistant.ask`, `resume`, `hand_over`) and every rating (the API's
`POST /v1/feedback`, the Slack bot's thumbs) is appended here, keyed by thread and turn so a
rating joins the turn it rates. Free text goes through the redaction hook before it is
written; rows older than the retention are pruned when the log opens and, at most once an
hour, on append. Two backends, chosen by `ASSISTANT_INTERACTION_LOG`: a JSONL file (the
default) or a SQLite file, both in the data folder.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import re
import shutil
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from filelock import FileLock
from langchain_core.messages import AnyMessage
from pydantic import BaseModel, Field, ValidationError, field_validator

from assistant.adapters.schemas import EscalationDecision, InteractionLog, TriageResult
from assistant.errors import InputError, InteractionLogError
from assistant.schemas import Action, Answer, Outcome
from assistant.settings import Settings

logger = logging.getLogger(__name__)

RecordKind = Literal["turn", "feedback"]
EscalatedBy = Literal["assistant", "customer"]
Redactor = Callable[[str], str]
"""A redaction hook: free text in, the text to write out."""

# A JSONL log is rewritten to prune it; once an hour bounds that cost on a busy log.
PRUNE_EVERY = timedelta(hours=1)
# EscalationDecision.summary's max_length: a redactor that lengthens a summary must not make
# the row unreadable.
_SUMMARY_MAX = 400
_SQLITE_MAGIC = b"SQLite format 3\x00"


# --- the record ------------------------------------------------------------------------------


class CitedChunk(BaseModel):
    """A citation as the log keeps it: which chunk an [n] marker of the answer pointed at."""

    n: int = Field(ge=1)
    doc_id: str
    chunk_id: str


class InteractionRecord(InteractionLog):
    """One row of the interaction log: a turn of the assistant, or a rating of one.

    Rows written before turns were logged (the API's and the Slack bot's feedback rows, and
    hand-made `{question, answer, feedback}` rows) still validate: every field added here is
    optional, and a row without `kind` is a rating.
    """

    kind: RecordKind = Field(
        "feedback", description="`turn`: what the assistant did; `feedback`: a rating of a turn."
    )
    thread_id: str | None = None
    turn: int | None = Field(
        None, ge=0, description="Which assistant reply of the thread, from 0: the join key."
    )
    tenant: str | None = None
    at: datetime | None = Field(None, description="When it happened (UTC); retention reads it.")
    outcome: Outcome | None = None
    action: Action | None = None
    queries: list[str] = Field(default_factory=list)
    retrieved: list[str] = Field(
        default_factory=list, description="Chunk ids the turn's last search returned."
    )
    citations: list[CitedChunk] = Field(default_factory=list)
    removed_citations: int = Field(0, ge=0, description="Markers pointing at no retrieved chunk.")
    unsupported_sentences: list[str] = Field(
        default_factory=list, description="Answer sentences their cited chunks do not support."
    )
    triage: TriageResult | None = None
    escalation: EscalationDecision | None = None
    escalated_by: EscalatedBy | None = Field(
        None, description="Who handed the turn to a human: the assistant, or the customer."
    )
    comment: str | None = None

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # Retention compares times: a naive one (a hand-written row) is taken as UTC.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @property
    def key(self) -> tuple[str, int] | None:
        """(thread, turn) where both are known: how a rating finds the turn it rates."""
        if self.thread_id is None or self.turn is None:
            return None
        return (self.thread_id, self.turn)

    @property
    def flagged_citations(self) -> bool:
        """Whether the citation check removed a marker or found a sentence unsupported."""
        return self.removed_citations > 0 or bool(self.unsupported_sentences)


def latest_turn(messages: Sequence[AnyMessage]) -> int:
    """The index (from 0) of a thread's latest assistant reply: the turn a rating names."""
    return max(sum(m.type == "ai" for m in messages) - 1, 0)


def turn_record(
    state: Mapping[str, Any],
    answer: Answer,
    *,
    thread_id: str,
    escalated_by: EscalatedBy | None,
    at: datetime,
) -> InteractionRecord:
    """The log row of a turn that ended in `answer`, from the thread's state after it."""
    chunks = state.get("chunks") or []
    return InteractionRecord(
        kind="turn",
        question=str(state.get("question") or "(none)"),
        answer=answer.text,
        thread_id=thread_id,
        turn=latest_turn(state.get("messages") or []),
        tenant=state.get("tenant"),
        at=at,
        outcome=answer.outcome,
        action=answer.action,
        queries=list(answer.queries),
        retrieved=[c.chunk_id for c in chunks],
        citations=[
            CitedChunk(n=c.n, doc_id=c.doc_id, chunk_id=c.chunk_id) for c in answer.citations
        ],
        removed_citations=answer.removed_citations,
        unsupported_sentences=list(answer.unsupported_sentences),
        triage=answer.triage,
        escalation=answer.escalation,
        escalated_by=escalated_by if answer.outcome is Outcome.ESCALATED else None,
    )


# --- redaction -------------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}")
# 13 to 19 digits (every payment card length), grouped by single spaces or hyphens or not,
# not starting with 0 so that an international "00" phone prefix is left to _PHONE.
_CARD = re.compile(r"(?<![\w-])[1-9](?:[ -]?\d){12,18}(?![\w-])")
# A run of digits with an optional "+" or "(" in front and spaces, dots, hyphens or
# parentheses between groups; `_phone` keeps runs of fewer than 9 digits (dates, amounts).
_PHONE = re.compile(r"(?<![\w+])[+(]?\d(?:[ .()-]{0,2}\d)+\)?(?!\w)")
_PHONE_MIN_DIGITS = 9


def _phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group())
    return "[phone]" if digits >= _PHONE_MIN_DIGITS else match.group()


def redact_personal_data(text: str) -> str:
    """The built-in redactor: emails -> `[email]`, card-like runs of 13-19 digits -> `[card]`,
    phone-like runs of 9 or more digits -> `[phone]`. It errs towards redacting (a long order
    number reads as a phone number); nothing the training data needs is a number."""
    text = _EMAIL.sub("[email]", text)
    text = _CARD.sub("[card]", text)
    return _PHONE.sub(_phone, text)


def load_redactor(spec: str) -> Redactor | None:
    """The callable `module:function` names; None for an empty spec (no redaction)."""
    if not spec.strip():
        return None
    module_name, _, attribute = spec.strip().partition(":")
    where = f"ASSISTANT_INTERACTION_LOG_REDACTOR={spec!r}"
    if not module_name or not attribute:
        raise InteractionLogError(f"{where}: name the hook as `module:function`.")
    try:
        target: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise InteractionLogError(f"{where}: cannot import {module_name!r}: {exc}") from exc
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise InteractionLogError(f"{where}: {module_name!r} has no {attribute!r}.")
        target = getattr(target, part)
    if not callable(target):
        raise InteractionLogError(f"{where}: {attribute!r} is not callable.")
    return cast(Redactor, target)


def redact_record(record: InteractionRecord, redact: Redactor) -> InteractionRecord:
    """`record` with `redact` applied to every free-text field (question, answer, comment,
    queries, unsupported sentences, the hand-off summary). Ids and labels are kept."""

    def clean(text: str) -> str:
        result = redact(text)
        if not isinstance(result, str):
            raise InteractionLogError(
                f"the redaction hook returned {type(result).__name__}, not str"
            )
        return result

    update: dict[str, Any] = {
        # An empty question would make the row unreadable (question is required).
        "question": clean(record.question) or "[redacted]",
        "answer": clean(record.answer),
        "queries": [clean(q) for q in record.queries],
        "unsupported_sentences": [clean(s) for s in record.unsupported_sentences],
    }
    if record.comment is not None:
        update["comment"] = clean(record.comment)
    if record.escalation is not None:
        summary = clean(record.escalation.summary)[:_SUMMARY_MAX]
        update["escalation"] = record.escalation.model_copy(update={"summary": summary})
    return record.model_copy(update=update)


# --- backends --------------------------------------------------------------------------------


class LogBackend(Protocol):
    """Where rows are stored. Implementations are safe to call from several threads."""

    path: Path

    def append(self, record: InteractionRecord) -> None: ...

    def prune(self, before: datetime) -> int:
        """Delete the rows older than `before`; return how many went."""
        ...

    def close(self) -> None: ...


class JsonlLog:
    """One JSON object per line. Appends and pruning take a lock file beside the log, so the
    API and the Slack bot (two processes) can share it; pruning rewrites the file whole."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file_lock = FileLock(str(path) + ".lock")

    def append(self, record: InteractionRecord) -> None:
        line = record.model_dump_json(exclude_none=True) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self._file_lock, self.path.open("a+b") as log:
            # A line cut short by a crash must not swallow the next row: end it first.
            if log.tell() > 0:
                log.seek(-1, os.SEEK_END)
                if log.read(1) != b"\n":
                    log.write(b"\n")
            log.write(line.encode("utf-8"))

    def prune(self, before: datetime) -> int:
        with self._lock, self._file_lock:
            if not self.path.exists():
                return 0
            lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [line for line in lines if not _expired(line, before)]
            if len(kept) == len(lines):
                return 0
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text("".join(kept), encoding="utf-8")
            shutil.copymode(self.path, temporary)
            os.replace(temporary, self.path)
            return len(lines) - len(kept)

    def close(self) -> None:
        pass


def _expired(line: str, before: datetime) -> bool:
    """Whether a JSONL line is a valid row older than `before`. A line that does not parse
    is kept: pruning never loses what it cannot read."""
    if not line.strip():
        return False
    try:
        record = InteractionRecord.model_validate_json(line)
    except ValidationError:
        return False
    return record.at is not None and record.at < before


_SCHEMA = """
CREATE TABLE IF NOT EXISTS interactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL,
    kind TEXT NOT NULL,
    thread_id TEXT,
    turn INTEGER,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS interactions_at ON interactions (at);
CREATE INDEX IF NOT EXISTS interactions_thread ON interactions (thread_id, turn);
"""


class SqliteLog:
    """A table of rows in a SQLite file: the row as the JSONL line's JSON, plus the columns a
    query or the retention needs (`at` as Unix seconds, kind, thread, turn)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # Turns arrive from the API's worker threads; the lock below serialises them, and
        # SQLite's own locking (WAL, a busy timeout) other processes.
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._lock = threading.Lock()
        with self._lock, self._conn:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)

    def append(self, record: InteractionRecord) -> None:
        at = record.at.timestamp() if record.at is not None else None
        row = (
            at,
            record.kind,
            record.thread_id,
            record.turn,
            record.model_dump_json(exclude_none=True),
        )
        with self._lock, self._conn:
            self._conn.execute(
                "INSERT INTO interactions (at, kind, thread_id, turn, record) "
                "VALUES (?, ?, ?, ?, ?)",
                row,
            )

    def prune(self, before: datetime) -> int:
        with self._lock, self._conn:
            cursor = self._conn.execute(
                "DELETE FROM interactions WHERE at < ?", (before.timestamp(),)
            )
            return cursor.rowcount

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# --- the logger ------------------------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(UTC)


class InteractionLogger:
    """What `Assistant`, the API and the Slack bot write through: it redacts, applies the
    retention and appends. With no backend (`ASSISTANT_INTERACTION_LOG=off`) it writes nothing.
    """

    def __init__(
        self,
        backend: LogBackend | None,
        *,
        redact: Redactor | None = None,
        retention: timedelta | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.backend = backend
        self.redact = redact
        self.retention = retention
        self.clock = clock
        self._pruned_at: datetime | None = None
        self.prune()

    @property
    def path(self) -> Path | None:
        return self.backend.path if self.backend is not None else None

    def append(self, record: InteractionRecord) -> None:
        """Write `record`, redacted; prune first if the last pruning is an hour old."""
        if self.backend is None:
            return
        now = self.clock()
        if record.at is None:
            record = record.model_copy(update={"at": now})
        if self.redact is not None:
            record = redact_record(record, self.redact)
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self.prune()
        self.backend.append(record)

    def prune(self) -> int:
        """Delete rows older than the retention now; return how many went."""
        if self.backend is None or self.retention is None:
            return 0
        now = self.clock()
        removed = self.backend.prune(now - self.retention)
        self._pruned_at = now
        if removed:
            logger.info("pruned %d interaction-log rows older than %s", removed, self.retention)
        return removed

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()


def open_interaction_log(
    settings: Settings, *, clock: Callable[[], datetime] = _utc_now
) -> InteractionLogger:
    """The log the settings name, its old rows pruned; a logger that writes nothing when off."""
    if settings.interaction_log == "off":
        return InteractionLogger(None)
    path = settings.interaction_log_path
    backend: LogBackend = (
        SqliteLog(path) if settings.interaction_log == "sqlite" else JsonlLog(path)
    )
    days = settings.interaction_log_retention_days
    return InteractionLogger(
        backend,
        redact=load_redactor(settings.interaction_log_redactor),
        retention=timedelta(days=days) if days else None,
        clock=clock,
    )


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedRow:
    """A row read back, with where it is (`interactions.jsonl:12`, `interactions.sqlite#12`)."""

    source: str
    record: InteractionRecord


@dataclass
class LogContents:
    """The rows of a log that validated, and the ones that did not (`path:line: why`)."""

    rows: list[LoggedRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def read_log(path: Path, *, strict: bool = False) -> LogContents:
    """Every row of the interaction log at `path`, JSONL or SQLite (told apart by content).

    A row that does not validate is skipped and listed in `skipped` (the file is not
    touched), or with `strict` raises `InputError` naming its line.
    """
    try:
        with path.open("rb") as head:
            magic = head.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc}") from exc
    contents = LogContents()
    lines = _sqlite_rows(path) if magic == _SQLITE_MAGIC else _jsonl_rows(path)
    for place, text in lines:
        try:
            record = InteractionRecord.model_validate(json.loads(text))
        except (ValueError, TypeError) as exc:  # ValidationError is a ValueError
            reason = f"{path}{place} is not an interaction-log row: {_one_line(exc)}"
            if strict:
                raise InputError(reason) from exc
            contents.skipped.append(reason)
            continue
        contents.rows.append(LoggedRow(source=f"{path.name}{place}", record=record))
    return contents


def _jsonl_rows(path: Path) -> list[tuple[str, str]]:
    """(":line", text) of each line that is not blank."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc}") from exc
    return [(f":{n}", line) for n, line in enumerate(lines, start=1) if line.strip()]


def _sqlite_rows(path: Path) -> list[tuple[str, str]]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT id, record FROM interactions ORDER BY id").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise InputError(f"Cannot read the interaction log {path}: {exc}") from exc
    return [(f"#{row_id}", str(text)) for row_id, text in rows]


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())

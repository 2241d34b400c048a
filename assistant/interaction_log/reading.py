"""Reading the log back (the flywheel's input), JSONL or SQLite, told apart by content."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from assistant.errors import InputError
from assistant.interaction_log.record import InteractionRecord

_SQLITE_MAGIC = b"SQLite format 3\x00"


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

"""Where the log's rows are stored: a JSONL file or a SQLite file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from filelock import FileLock
from pydantic import ValidationError

from assistant.interaction_log.record import InteractionRecord


class LogBackend(Protocol):
    """Where rows are stored. Implementations are safe to call from several threads."""

    path: Path

    def append(self, record: InteractionRecord) -> None: ...

    def prune(self, before: datetime) -> int:
        """Delete the rows older than `before`; return how many went."""
        ...

    def forget(self, match: Callable[[InteractionRecord], bool]) -> int:
        """Delete the rows `match` picks, leaving nothing of them on disk; return how many."""
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
        return self._drop(lambda line: _expired(line, before))

    def forget(self, match: Callable[[InteractionRecord], bool]) -> int:
        return self._drop(lambda line: _matches(line, match))

    def _drop(self, gone: Callable[[str], bool]) -> int:
        """Rewrite the file without the lines `gone` picks (a new file replaces the old one,
        whose blocks the file system frees); return how many went."""
        with self._lock, self._file_lock:
            if not self.path.exists():
                return 0
            lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [line for line in lines if not gone(line)]
            if len(kept) == len(lines):
                return 0
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text("".join(kept), encoding="utf-8")
            shutil.copymode(self.path, temporary)
            os.replace(temporary, self.path)
            return len(lines) - len(kept)

    def close(self) -> None:
        pass


def _matches(line: str, match: Callable[[InteractionRecord], bool]) -> bool:
    """Whether a JSONL line is a valid row `match` picks (a line that does not parse is kept)."""
    if not line.strip():
        return False
    try:
        return match(InteractionRecord.model_validate_json(line))
    except ValidationError:
        return False


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
            # Deleted rows (retention, erasure) are overwritten with zeros, not left behind.
            self._conn.execute("PRAGMA secure_delete = ON")
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

    def forget(self, match: Callable[[InteractionRecord], bool]) -> int:
        with self._lock:
            rows = self._conn.execute("SELECT id, record FROM interactions").fetchall()
            gone = [(id_,) for id_, record in rows if _matches(record, match)]
            if not gone:
                return 0
            with self._conn:
                self._conn.executemany("DELETE FROM interactions WHERE id = ?", gone)
            # The old pages' copies in the write-ahead log go too.
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return len(gone)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

"""Hand-offs on disk: which escalation-channel thread speaks for which customer thread.

A human may answer hours after the hand-off, across a restart of the bot, so the mapping
lives in SQLite next to the assistant's own threads rather than in memory.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from assistant.closing import Closing
from assistant.interfaces.slack.thread_keys import SlackThread

_SCHEMA = """
CREATE TABLE IF NOT EXISTS escalations (
    channel TEXT NOT NULL,
    ts TEXT NOT NULL,
    team TEXT NOT NULL,
    customer_channel TEXT NOT NULL,
    customer_thread_ts TEXT NOT NULL,
    PRIMARY KEY (channel, ts)
)
"""
_COLUMNS = "channel, ts, team, customer_channel, customer_thread_ts"


class Escalation(BaseModel):
    """A hand-off message (`channel`, `ts`) in the escalation channel and the customer's
    thread it speaks for; humans reply in the hand-off message's thread."""

    model_config = ConfigDict(frozen=True)

    channel: str
    ts: str
    customer: SlackThread


class EscalationStore(Closing):
    """The hand-offs of the bot, kept in a SQLite file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Bolt runs listeners on a thread pool: one connection shared under a lock.
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._conn:
            # Erased hand-offs are overwritten with zeros, not left in free pages.
            self._conn.execute("PRAGMA secure_delete = ON")
            self._conn.execute(_SCHEMA)

    def add(self, escalation: Escalation) -> None:
        customer = escalation.customer
        with self._lock, self._conn:
            self._conn.execute(
                f"INSERT OR REPLACE INTO escalations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                (
                    escalation.channel,
                    escalation.ts,
                    customer.team,
                    customer.channel,
                    customer.thread_ts,
                ),
            )

    def by_handoff(self, channel: str, ts: str) -> Escalation | None:
        """The escalation whose hand-off message is `ts` in `channel`, if any."""
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM escalations WHERE channel = ? AND ts = ?", (channel, ts)
            ).fetchone()
        return None if row is None else _escalation(row)

    def latest_for(self, customer: SlackThread) -> Escalation | None:
        """The newest hand-off of a customer thread (a thread may be handed over again)."""
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM escalations WHERE team = ? AND customer_channel = ? "
                "AND customer_thread_ts = ? ORDER BY rowid DESC LIMIT 1",
                (customer.team, customer.channel, customer.thread_ts),
            ).fetchone()
        return None if row is None else _escalation(row)

    def forget(self, customers: Iterable[SlackThread]) -> int:
        """Delete the hand-offs of these customer threads (erasure); return how many went."""
        rows = [(c.team, c.channel, c.thread_ts) for c in customers]
        with self._lock, self._conn:
            before = self._conn.total_changes
            self._conn.executemany(
                "DELETE FROM escalations WHERE team = ? AND customer_channel = ? "
                "AND customer_thread_ts = ?",
                rows,
            )
            return self._conn.total_changes - before

    def close(self) -> None:
        self._conn.close()


def _escalation(row: tuple[str, str, str, str, str]) -> Escalation:
    channel, ts, team, customer_channel, customer_thread_ts = row
    customer = SlackThread(team=team, channel=customer_channel, thread_ts=customer_thread_ts)
    return Escalation(channel=channel, ts=ts, customer=customer)

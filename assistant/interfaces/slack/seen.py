"""Which Slack deliveries the bot has already acted on, on disk, so each is acted on once.

Slack delivers a message twice when it is both an `app_mention` and a `message`, and again
when an acknowledgement is slow (retries after about 1 and 5 minutes); anyone who captured a
signed request can replay it while its timestamp is fresh (Bolt refuses it after 5 minutes).
Kept in memory, the ids were forgotten at every restart, so a replayed click logged its rating
twice and a retried message was answered again. Here they live in SQLite beside the hand-offs
(`slack.sqlite` in the data folder), where a restarted bot, or a second one on the same
folder, finds them. Rows hold Slack's ids only (team, channel, timestamps, action), no text.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from assistant.closing import Closing

# Longer than Slack's 5-minute signature window and its retry schedule, with margin for a clock
# that is off by a few minutes: a delivery older than this is refused by Bolt or never retried.
KEEP_FOR_SECONDS = 60 * 60
# A bound on the table whatever the traffic: past it, the oldest ids go first.
MAX_IDS = 100_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_deliveries (
    key TEXT PRIMARY KEY,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_deliveries_at ON seen_deliveries (at);
"""


class SeenDeliveries(Closing):
    """A set of delivery keys with expiry, shared by every bot on the same SQLite file."""

    def __init__(
        self,
        path: Path,
        *,
        keep_for: float = KEEP_FOR_SECONDS,
        max_ids: int = MAX_IDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Bolt runs listeners on a thread pool: one connection shared under a lock; the file's
        # own lock orders bots of several processes (`timeout` waits for it).
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._lock = threading.Lock()
        self.keep_for = keep_for
        self.max_ids = max_ids
        self.clock = clock
        with self._lock, self._conn:
            self._conn.executescript(_SCHEMA)

    def first_time(self, key: str) -> bool:
        """Record `key`; True if no unexpired record of it was there (act on it), else False.

        One statement decides, so two bots given the same delivery at once act once."""
        now = self.clock()
        with self._lock, self._conn:
            self._conn.execute("DELETE FROM seen_deliveries WHERE at < ?", (now - self.keep_for,))
            cursor = self._conn.execute(
                "INSERT OR IGNORE INTO seen_deliveries (key, at) VALUES (?, ?)", (key, now)
            )
            added = cursor.rowcount == 1
            if added and cursor.lastrowid is not None:
                # Rowids grow with each insert: those `max_ids` behind the newest are the oldest.
                self._conn.execute(
                    "DELETE FROM seen_deliveries WHERE rowid <= ?",
                    (cursor.lastrowid - self.max_ids,),
                )
        return added

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._conn.execute("SELECT count(*) FROM seen_deliveries").fetchone()
        return int(count)

    def close(self) -> None:
        self._conn.close()

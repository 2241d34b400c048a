"""Threads leaving the store: retention (threads idle past `ASSISTANT_THREAD_RETENTION_DAYS`),
and erasure of one thread or of everything of one end user, across the thread store and the
interaction log.

Deleting is not enough on SQLite: a deleted row stays in the file's free pages and in the
write-ahead log. The thread store and the SQLite log run with `secure_delete` (deleted content
is overwritten with zeros), and every erasure ends with a checkpoint that truncates the
write-ahead log, so nothing of an erased conversation is left in the data folder.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from langgraph.checkpoint.base.id import UUID as CheckpointId
from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel, Field

from assistant.errors import ThreadNotFoundError
from assistant.interaction_log import InteractionLogger, InteractionRecord
from assistant.thread_store import (
    ThreadLocks,
    ThreadOwner,
    parse_key,
    store_rows,
    stored_tenant,
)

if TYPE_CHECKING:
    from langgraph.checkpoint.postgres import PostgresSaver

logger = logging.getLogger(__name__)

# A long-running process sweeps at most this often (at open, then after turns).
SWEEP_EVERY = timedelta(hours=1)
# 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
_UUID_EPOCH_OFFSET = 0x01B21DD213814000


class Erasure(BaseModel):
    """What an erasure deleted."""

    threads: list[str] = Field(description="The client's ids of the threads deleted.")
    log_records: int = Field(description="Rows deleted from the interaction log.")


def checkpoint_time(checkpoint_id: str) -> datetime | None:
    """When a checkpoint was written: LangGraph's checkpoint ids are time-ordered UUIDs
    (version 6), so the time is in the id. None for an id of another kind."""
    try:
        parsed = CheckpointId(checkpoint_id)
    except ValueError:
        return None
    if parsed.version != 6:
        return None
    seconds = (parsed.time - _UUID_EPOCH_OFFSET) / 10_000_000
    return datetime.fromtimestamp(seconds, UTC)


class ThreadEraser:
    """Deletes threads from the store and their rows from the interaction log, each thread
    under its lock (a turn on it finishes first, and none starts on it meanwhile)."""

    def __init__(
        self,
        checkpointer: SqliteSaver | PostgresSaver,
        locks: ThreadLocks,
        interaction_log: InteractionLogger,
        *,
        retention: timedelta | None,
    ) -> None:
        self.checkpointer = checkpointer
        self.locks = locks
        self.interaction_log = interaction_log
        self.retention = retention
        self._swept_at: datetime | None = None

    # --- retention -----------------------------------------------------------------------

    def last_activity(self) -> dict[str, datetime]:
        """Stored thread id -> when its latest checkpoint was written."""
        rows = store_rows(
            self.checkpointer,
            "SELECT thread_id, MAX(checkpoint_id) FROM checkpoints "
            "WHERE checkpoint_ns = '' GROUP BY thread_id",
        )
        latest = {str(key): checkpoint_time(str(last)) for key, last in rows}
        return {key: at for key, at in latest.items() if at is not None}

    def prune_expired(self, now: datetime | None = None) -> list[str]:
        """Delete the threads idle for longer than the retention; their stored ids. Nothing
        without a retention."""
        now = now or datetime.now(UTC)
        self._swept_at = now
        if self.retention is None:
            return []
        before = now - self.retention
        expired = [key for key, at in self.last_activity().items() if at < before]
        for key in expired:
            with self.locks.hold(key):
                self.checkpointer.delete_thread(key)
        if expired:
            compact(self.checkpointer)
            logger.info("deleted %d threads idle for over %s", len(expired), self.retention)
        return expired

    def sweep_if_due(self, now: datetime | None = None) -> None:
        """`prune_expired` when the last sweep is `SWEEP_EVERY` old (a long-running process
        calls this after each turn); a failure is logged, never raised into a turn."""
        now = now or datetime.now(UTC)
        if self.retention is None or (
            self._swept_at is not None and now - self._swept_at < SWEEP_EVERY
        ):
            return
        try:
            self.prune_expired(now)
        except Exception:
            logger.exception("could not delete the expired threads")

    # --- erasure -------------------------------------------------------------------------

    def forget_thread(self, owner: ThreadOwner, thread_id: str) -> Erasure:
        """Delete the owner's thread `thread_id` and its log rows. `ThreadNotFoundError` when
        the owner has no such thread (another owner's is exactly as missing)."""
        key = owner.key(thread_id)
        with self.locks.hold(key):
            if stored_tenant(self.checkpointer, key) != owner.tenant:
                raise ThreadNotFoundError(f"no thread {thread_id!r}")
            self.checkpointer.delete_thread(key)
        compact(self.checkpointer)
        rows = self.interaction_log.forget(lambda r: _of_threads(r, owner.tenant, {key}))
        return Erasure(threads=[thread_id], log_records=rows)

    def forget_user(self, user: str, owners: Iterable[ThreadOwner]) -> Erasure:
        """Delete every thread of end user `user` among `owners`' threads, and every log row
        naming them or one of those threads."""
        owners = list(owners)
        keys = sorted(self.threads_of_user(user, owners))
        for key in keys:
            with self.locks.hold(key):
                self.checkpointer.delete_thread(key)
        if keys:
            compact(self.checkpointer)
        tenants = {o.tenant for o in owners}
        vias = {o.via for o in owners}
        gone = set(keys)

        def match(record: InteractionRecord) -> bool:
            if record.tenant not in tenants:
                return False
            named = record.user == user and (record.via or _legacy_via(record)) in vias
            return named or _of_threads(record, record.tenant, gone)

        rows = self.interaction_log.forget(match)
        threads = [parsed[1] for key in keys if (parsed := parse_key(key)) is not None]
        return Erasure(threads=threads, log_records=rows)

    def threads_of_user(self, user: str, owners: Iterable[ThreadOwner]) -> set[str]:
        """The stored ids of `owners`' threads a turn of `user` wrote to (the checkpoints of a
        turn carry its user in their metadata)."""
        prefixes = tuple(o.prefix for o in owners)
        found = self.checkpointer.list(None, filter={"user": user})
        keys = {str(t.config["configurable"]["thread_id"]) for t in found}
        return {key for key in keys if key.startswith(prefixes)}


def _legacy_via(record: InteractionRecord) -> str:
    """The namespace of a row written before rows named theirs."""
    return "slack" if (record.thread_id or "").startswith("slack:") else "api"


def _of_threads(record: InteractionRecord, tenant: str | None, keys: set[str]) -> bool:
    """Whether `record` is a row of one of the threads stored as `keys`."""
    if record.thread_id is None or record.tenant is None or record.tenant != tenant:
        return False
    via = record.via or _legacy_via(record)
    return ThreadOwner(tenant=record.tenant, via=via).key(record.thread_id) in keys


def compact(checkpointer: SqliteSaver | PostgresSaver) -> None:
    """Leave no copy of deleted rows on disk: SQLite's write-ahead log still holds the pages
    as they were before the delete until a checkpoint truncates it. (PostgreSQL reclaims dead
    rows with its autovacuum, outside the data folder.)"""
    if isinstance(checkpointer, SqliteSaver):
        with checkpointer.cursor(transaction=False) as cursor:
            busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            logger.warning(
                "another process is reading the thread store: its write-ahead log was not "
                "truncated and may keep copies of the deleted threads until SQLite restarts it"
            )

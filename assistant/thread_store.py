"""Where conversation threads persist: LangGraph's SQLite checkpointer on disk by default, or its
PostgreSQL checkpointer when several API replicas must share threads; the per-thread locks
that let one replica at a time change a thread; and whose thread a stored thread id is.

A client names its thread (`ticket-1001`), but the store keys it by its owner too
(`ThreadOwner.key`: `api/acme/ticket-1001`), so two tenants, or the API and the Slack bot of
one tenant, that pick the same name get two threads, and neither can take, probe or lock the
other's.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from filelock import FileLock, Timeout
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from pydantic import BaseModel, ConfigDict, Field

from assistant.errors import ThreadStoreUnavailableError
from assistant.schemas import (
    Action,
    Answer,
    Citation,
    EscalationDecision,
    NodeTiming,
    Outcome,
    RetrievedChunk,
    TriageResult,
)
from assistant.turn.release import Released

if TYPE_CHECKING:
    from langgraph.checkpoint.postgres import PostgresSaver

    from assistant.settings import Settings

# The checkpointer revives only these of our types; anything else in a checkpoint is refused
# rather than imported, so a tampered store cannot name arbitrary classes.
STATE_TYPES: list[type] = [
    Action,
    Answer,
    Citation,
    EscalationDecision,
    NodeTiming,
    Outcome,
    Released,
    RetrievedChunk,
    TriageResult,
]


ThreadSource = Literal["api", "slack"]
"""Who started a thread: an API key (the HTTP API, MCP, the CLI) or the Slack bot. Each is a
namespace of its own: an API key of a tenant never reaches that tenant's Slack threads."""

THREAD_SOURCES: tuple[ThreadSource, ...] = ("api", "slack")


class ThreadOwner(BaseModel):
    """Whose threads a caller may use: a tenant, through the API or through Slack."""

    model_config = ConfigDict(frozen=True)

    tenant: str = Field(min_length=1)
    via: ThreadSource = "api"

    def key(self, thread_id: str) -> str:
        """The id the store keys the owner's thread `thread_id` by. A client's id never holds
        a `/` (the service refuses it), so the last `/` ends the tenant: no two owners' keys
        meet, whatever their tenants are called."""
        return f"{self.prefix}{thread_id}"

    @property
    def prefix(self) -> str:
        """What every stored id of this owner's threads starts with."""
        return f"{self.via}/{self.tenant}/"


def parse_key(key: str) -> tuple[ThreadOwner, str] | None:
    """The owner and the client's thread id of a stored id; None for an id of the days before
    owners were part of it (`namespace_legacy_threads` moves those)."""
    via, _, rest = key.partition("/")
    tenant, _, thread_id = rest.rpartition("/")
    if via not in THREAD_SOURCES or not tenant or not thread_id:
        return None
    return ThreadOwner(tenant=tenant, via=via), thread_id


def _serde() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=STATE_TYPES)


def open_checkpointer(path: Path) -> SqliteSaver:
    """Open (creating if needed) the SQLite thread store at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The API serves requests from a thread pool; SqliteSaver serialises access with a lock.
    conn = sqlite3.connect(path, check_same_thread=False)
    # A deleted thread (retention, erasure) is overwritten with zeros, not left in free pages.
    conn.execute("PRAGMA secure_delete = ON")
    return SqliteSaver(conn, serde=_serde())


def open_postgres_checkpointer(url: str) -> PostgresSaver:
    """Connect to the PostgreSQL thread store at `url`, creating its tables if needed."""
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection, OperationalError
        from psycopg.rows import dict_row
    except ImportError as exc:
        raise ThreadStoreUnavailableError(
            "ASSISTANT_THREADS_URL names PostgreSQL, but its driver is not installed: "
            "pip install 'hybrid-assistant[postgres]'"
        ) from exc
    try:
        # The settings PostgresSaver.from_conn_string uses; autocommit because each checkpoint
        # write is its own unit, and no prepared statements so poolers (pgbouncer) work.
        conn = Connection.connect(
            url, autocommit=True, prepare_threshold=0, row_factory=dict_row, connect_timeout=10
        )
    except OperationalError as exc:
        reason = str(exc).strip()
        raise ThreadStoreUnavailableError(
            f"cannot reach the PostgreSQL thread store: {reason}"
        ) from exc
    saver = PostgresSaver(conn, serde=_serde())
    saver.setup()
    return saver


def open_thread_store(settings: Settings) -> SqliteSaver | PostgresSaver:
    """The thread store the settings name: PostgreSQL by `threads_url`, else SQLite on disk;
    threads stored before owners were part of their ids are moved under their owners."""
    saver: SqliteSaver | PostgresSaver
    if settings.threads_url is not None:
        saver = open_postgres_checkpointer(settings.threads_url.get_secret_value())
    else:
        saver = open_checkpointer(settings.checkpoint_path)
    namespace_legacy_threads(saver)
    return saver


# --- stored ids before owners ----------------------------------------------------------------

# The tables that key rows by thread id, per checkpointer (langgraph-checkpoint-sqlite/-postgres).
_SQLITE_TABLES = ("checkpoints", "writes")
_POSTGRES_TABLES = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")


def store_rows(
    saver: SqliteSaver | PostgresSaver, sql: str, params: tuple[Any, ...] = ()
) -> list[tuple[Any, ...]]:
    """Run `sql` (`%s` placeholders) on the store under the checkpointer's own lock; its rows.
    For the maintenance the checkpointer has no method for: listing thread ids, renaming them."""
    if isinstance(saver, SqliteSaver):
        with saver.cursor() as cursor:
            cursor.execute(sql.replace("%s", "?"), params)
            return [tuple(row) for row in cursor.fetchall()]
    with saver.lock, saver.conn.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(sql, params)
        if cursor.description is None:
            return []
        return [tuple(row.values()) for row in cursor.fetchall()]  # dict rows


def thread_tables(saver: SqliteSaver | PostgresSaver) -> tuple[str, ...]:
    return _SQLITE_TABLES if isinstance(saver, SqliteSaver) else _POSTGRES_TABLES


def stored_tenant(saver: SqliteSaver | PostgresSaver, key: str) -> str | None:
    """The tenant a stored thread's latest checkpoint names (None: no such thread)."""
    found = saver.get_tuple({"configurable": {"thread_id": key, "checkpoint_ns": ""}})
    if found is None:
        return None
    tenant = found.checkpoint.get("channel_values", {}).get("tenant")
    return str(tenant) if tenant else None


def namespace_legacy_threads(saver: SqliteSaver | PostgresSaver) -> int:
    """Move threads stored under their bare client id (before owners were part of stored ids)
    under `ThreadOwner.key`: the tenant is the one their state names, and an id the Slack bot
    made (`slack:TEAM:CHANNEL:TS`) is the Slack bot's. Returns how many moved; a store with
    none to move costs one query."""
    legacy = [
        str(row[0])
        for row in store_rows(
            saver,
            "SELECT DISTINCT thread_id FROM checkpoints "
            "WHERE thread_id NOT LIKE 'api/%%' AND thread_id NOT LIKE 'slack/%%'",
        )
    ]
    moved = 0
    for old in legacy:
        tenant = stored_tenant(saver, old)
        if tenant is None:
            continue  # no state naming its tenant: nobody could ever be checked against it
        via: ThreadSource = "slack" if old.startswith("slack:") else "api"
        new = ThreadOwner(tenant=tenant, via=via).key(old)
        for table in thread_tables(saver):
            store_rows(saver, f"UPDATE {table} SET thread_id = %s WHERE thread_id = %s", (new, old))
        moved += 1
    return moved


# --- per-thread locks ------------------------------------------------------------------------

# Lock files are striped: a bounded folder whatever the number of threads, at the price of two
# threads of one stripe waiting for each other now and then (a turn holds its lock seconds).
LOCK_STRIPES = 64


class ThreadLocks(Protocol):
    """One holder at a time per conversation thread, across every process sharing the store."""

    def hold(self, thread_id: str) -> AbstractContextManager[None]:
        """Held while a turn or a hand-over reads a thread, decides and writes it. Raises
        `ThreadStoreUnavailableError` when the lock stays taken past the timeout."""
        ...


def _lock_key(thread_id: str) -> int:
    """A signed 64-bit key for the thread (PostgreSQL's advisory-lock key)."""
    digest = hashlib.sha256(f"hybrid-assistant/thread/{thread_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class FileThreadLocks:
    """Lock files beside the SQLite thread store: every process of this machine takes them.

    A new `FileLock` per hold: each opens its own file, and `flock` excludes across open files,
    so threads of one process exclude each other as other processes do.
    """

    def __init__(self, folder: Path, *, timeout_s: float) -> None:
        self.folder = folder
        self.timeout_s = timeout_s

    @contextmanager
    def hold(self, thread_id: str) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        stripe = _lock_key(thread_id) % LOCK_STRIPES
        lock = FileLock(
            self.folder / f"{stripe:02d}.lock",
            timeout=self.timeout_s,
            thread_local=False,
            preserve_lock_file=True,
        )
        try:
            lock.acquire()
        except Timeout as exc:
            raise ThreadStoreUnavailableError(
                f"thread {thread_id} stayed locked by another turn for {self.timeout_s:g} s "
                f"(lock files in {self.folder})"
            ) from exc
        try:
            yield
        finally:
            lock.release()


class PostgresThreadLocks:
    """PostgreSQL advisory locks, held by a connection of their own for one hold: replicas on
    other machines exclude each other, and a replica that dies releases its locks with its
    connection. (One shared connection would deadlock: a waiting lock statement would queue
    the release of another.)"""

    def __init__(self, url: str, *, timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s

    @contextmanager
    def hold(self, thread_id: str) -> Iterator[None]:
        from psycopg import Connection, OperationalError, errors

        try:
            conn = Connection.connect(self.url, autocommit=True, connect_timeout=10)
        except OperationalError as exc:
            raise ThreadStoreUnavailableError(
                f"cannot reach the PostgreSQL thread store: {str(exc).strip()}"
            ) from exc
        with conn:
            try:
                conn.execute(f"SET lock_timeout = {int(self.timeout_s * 1000)}")
                conn.execute("SELECT pg_advisory_lock(%s)", (_lock_key(thread_id),))
            except errors.LockNotAvailable as exc:
                raise ThreadStoreUnavailableError(
                    f"thread {thread_id} stayed locked by another replica for {self.timeout_s:g} s"
                ) from exc
            # Closing the connection releases the lock, whatever happens in between.
            yield


def open_thread_locks(settings: Settings) -> ThreadLocks:
    """The locks that go with the thread store the settings name."""
    timeout = settings.thread_lock_timeout_s
    if settings.threads_url is not None:
        return PostgresThreadLocks(settings.threads_url.get_secret_value(), timeout_s=timeout)
    path = settings.checkpoint_path
    return FileThreadLocks(path.with_name(path.name + ".locks"), timeout_s=timeout)

"""Where conversation threads persist: LangGraph's SQLite checkpointer on disk by default, or its
PostgreSQL checkpointer when several API replicas must share threads."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from assistant.adapters.schemas import EscalationDecision, TriageResult
from assistant.errors import ThreadStoreUnavailableError
from assistant.release import Released
from assistant.schemas import Action, Answer, Citation, NodeTiming, Outcome, RetrievedChunk

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


def _serde() -> JsonPlusSerializer:
    return JsonPlusSerializer(allowed_msgpack_modules=STATE_TYPES)


def open_checkpointer(path: Path) -> SqliteSaver:
    """Open (creating if needed) the SQLite thread store at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The API serves requests from a thread pool; SqliteSaver serialises access with a lock.
    conn = sqlite3.connect(path, check_same_thread=False)
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
    """The thread store the settings name: PostgreSQL by `threads_url`, else SQLite on disk."""
    if settings.threads_url is not None:
        return open_postgres_checkpointer(settings.threads_url.get_secret_value())
    return open_checkpointer(settings.checkpoint_path)

"""Where conversation threads persist: LangGraph's SQLite checkpointer on disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver

from assistant.adapters.schemas import EscalationDecision, TriageResult
from assistant.schemas import Action, Answer, Citation, NodeTiming, Outcome, RetrievedChunk

# The checkpointer revives only these of our types; anything else in a checkpoint file is
# refused rather than imported, so a tampered file cannot name arbitrary classes.
STATE_TYPES: list[type] = [
    Action,
    Answer,
    Citation,
    EscalationDecision,
    NodeTiming,
    Outcome,
    RetrievedChunk,
    TriageResult,
]


def open_checkpointer(path: Path) -> SqliteSaver:
    """Open (creating if needed) the thread store at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # The API serves requests from a thread pool; SqliteSaver serialises access with a lock.
    conn = sqlite3.connect(path, check_same_thread=False)
    return SqliteSaver(conn, serde=JsonPlusSerializer(allowed_msgpack_modules=STATE_TYPES))

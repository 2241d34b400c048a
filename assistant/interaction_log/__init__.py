"""The interaction log: one typed row per turn of the assistant and per rating of one, the
material of the adapters' next training set (`assistant adapters build-data --from-log`).

Every turn (`Assistant.ask`, `resume`, `hand_over`) and every rating (`Assistant.rate`, which
the API's `POST /v1/feedback` and the Slack bot's thumbs call) is appended here, keyed by
thread and turn so a rating joins the turn it rates. Free text goes through the redaction hook
before it is written; rows older than the retention are pruned when the log opens and, at most
once an hour, on append. Two backends, chosen by `ASSISTANT_INTERACTION_LOG`: a JSONL file (the
default) or a SQLite file, both in the data folder.
"""

from assistant.interaction_log.backends import JsonlLog, LogBackend, SqliteLog
from assistant.interaction_log.logger import InteractionLogger, open_interaction_log
from assistant.interaction_log.personal_data import redact_personal_data
from assistant.interaction_log.reading import LogContents, LoggedRow, read_log
from assistant.interaction_log.record import (
    CitedChunk,
    EscalatedBy,
    Feedback,
    InteractionRecord,
    RecordKind,
    latest_turn,
    rating_record,
    turn_record,
)
from assistant.interaction_log.redaction import (
    Redactor,
    load_redactor,
    redact_record,
)

__all__ = [
    "CitedChunk",
    "EscalatedBy",
    "Feedback",
    "InteractionLogger",
    "InteractionRecord",
    "JsonlLog",
    "LogBackend",
    "LogContents",
    "LoggedRow",
    "RecordKind",
    "Redactor",
    "SqliteLog",
    "latest_turn",
    "load_redactor",
    "open_interaction_log",
    "rating_record",
    "read_log",
    "redact_personal_data",
    "redact_record",
    "turn_record",
]

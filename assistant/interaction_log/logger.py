"""What `Assistant`, the API and the Slack bot write through: redaction, retention, append."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from assistant.interaction_log.backends import JsonlLog, LogBackend, SqliteLog
from assistant.interaction_log.record import InteractionRecord
from assistant.interaction_log.redaction import Redactor, load_redactor, redact_record
from assistant.settings import Settings

logger = logging.getLogger(__name__)

# A JSONL log is rewritten to prune it; once an hour bounds that cost on a busy log.
PRUNE_EVERY = timedelta(hours=1)


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

    def forget(self, match: Callable[[InteractionRecord], bool]) -> int:
        """Delete the rows `match` picks (erasure); return how many went."""
        if self.backend is None:
            return 0
        removed = self.backend.forget(match)
        if removed:
            logger.info("erased %d interaction-log rows", removed)
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

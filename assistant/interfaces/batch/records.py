"""Typed records of a batch run: what is read from the input and what is written per ticket."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from assistant.policy import Priority
from assistant.schemas import Citation

# A record's identity for resuming: its id, or for a row whose id could not be read, its
# line number (the input is the same file on the rerun, so the line is stable).
RecordKey = tuple[str, str]


def id_key(ticket_id: str) -> RecordKey:
    return ("id", ticket_id)


def line_key(line: int) -> RecordKey:
    return ("line", str(line))


class FieldMap(BaseModel):
    """Which input columns (CSV) or fields (JSONL) hold the ticket's id, body and subject."""

    model_config = ConfigDict(frozen=True)

    id: str = Field("id", min_length=1)
    text: str = Field("body", min_length=1)
    subject: str | None = Field(None, description="Prepended to the body when given.")


class Ticket(BaseModel):
    """One readable input row."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    text: str = Field(min_length=1, description="Subject (if mapped) and body, as triaged.")
    line: int = Field(ge=1, description="Line of the input where the row starts.")

    @property
    def key(self) -> RecordKey:
        return id_key(self.id)


class RowError(BaseModel):
    """An input row that cannot be triaged; recorded in the output, never fatal."""

    model_config = ConfigDict(frozen=True)

    line: int = Field(ge=1)
    error: str
    id: str | None = Field(None, description="The row's id when it could be read.")

    @property
    def key(self) -> RecordKey:
        return id_key(self.id) if self.id else line_key(self.line)


class TicketRecord(BaseModel):
    """One output record: the triage of a ticket, or the error that stopped it.

    Exactly one of (category, priority, needs_human) and ``error`` is set; ``answer`` and
    ``citations`` only with ``--answer``.
    """

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(None, description="None only for a row whose id could not be read.")
    line: int = Field(ge=1, description="Input line of the ticket, to find bad rows.")
    category: str | None = None
    priority: Priority | None = None
    needs_human: bool | None = None
    error: str | None = None
    answer: str | None = None
    citations: list[Citation] | None = None

    @property
    def key(self) -> RecordKey:
        return id_key(self.id) if self.id else line_key(self.line)

    @classmethod
    def from_row_error(cls, row: RowError) -> TicketRecord:
        return cls(id=row.id, line=row.line, error=row.error)


# Column order of CSV output; fixed whether or not `--answer` is on, so a rerun with other
# options still appends to a file of the same shape.
CSV_COLUMNS: tuple[str, ...] = tuple(TicketRecord.model_fields)

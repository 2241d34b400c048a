"""The one row type of the interaction log: a turn of the assistant, or a rating of one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from langchain_core.messages import AnyMessage
from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.schemas import Action, Answer, EscalationDecision, Outcome, TriageResult

RecordKind = Literal["turn", "feedback"]
EscalatedBy = Literal["assistant", "customer"]
Feedback = Literal["up", "down"]
_FEEDBACK_SYNONYMS: dict[str, Feedback] = {
    "up": "up",
    "+1": "up",
    "1": "up",
    "positive": "up",
    "good": "up",
    "thumbs_up": "up",
    "down": "down",
    "-1": "down",
    "negative": "down",
    "bad": "down",
    "thumbs_down": "down",
}


class CitedChunk(BaseModel):
    """A citation as the log keeps it: which chunk an [n] marker of the answer pointed at."""

    n: int = Field(ge=1)
    doc_id: str
    chunk_id: str


class InteractionRecord(BaseModel):
    """One row of the interaction log: a turn of the assistant, or a rating of one.

    Hand-made `{question, answer, feedback}` rows (and rows of older releases) validate too:
    every field but the question is optional, and a row without `kind` is a rating.
    `category` is a human-reviewed intent, when someone corrected the triage.
    """

    model_config = ConfigDict(extra="ignore")

    question: str = Field(min_length=1)
    answer: str = ""
    feedback: Feedback | None = None
    category: str | None = None
    context: str = Field(
        "", description="The customer's message before this one in the thread ('' if none)."
    )
    answerable: bool | None = Field(
        None,
        description="A reviewer's label: whether the knowledge base answers the question "
        "(`assistant adapters fit-judge --from-log` learns from it).",
    )
    kind: RecordKind = Field(
        "feedback", description="`turn`: what the assistant did; `feedback`: a rating of a turn."
    )
    thread_id: str | None = None
    turn: int | None = Field(
        None, ge=0, description="Which assistant reply of the thread, from 0: the join key."
    )
    tenant: str | None = None
    via: Literal["api", "slack"] | None = Field(
        None, description="Whose namespace the thread is in: an API key's or the Slack bot's."
    )
    user: str | None = Field(
        None,
        description="The end user the thread is about, as the client named them; erasure "
        "(`assistant users forget`) finds their rows by it. Never redacted: it is the key.",
    )
    at: datetime | None = Field(None, description="When it happened (UTC); retention reads it.")
    outcome: Outcome | None = None
    action: Action | None = None
    queries: list[str] = Field(default_factory=list)
    retrieved: list[str] = Field(
        default_factory=list, description="Chunk ids the turn's last search returned."
    )
    citations: list[CitedChunk] = Field(default_factory=list)
    removed_citations: int = Field(0, ge=0, description="Markers pointing at no retrieved chunk.")
    unsupported_sentences: list[str] = Field(
        default_factory=list, description="Answer sentences their cited chunks do not support."
    )
    triage: TriageResult | None = None
    escalation: EscalationDecision | None = None
    escalated_by: EscalatedBy | None = Field(
        None, description="Who handed the turn to a human: the assistant, or the customer."
    )
    comment: str | None = None
    variant: str | None = Field(
        None, description="The experiment's variant of the thread (ASSISTANT_EXPERIMENT)."
    )
    latency_ms: float | None = Field(
        None, ge=0, description="A turn's wall time from the question to the answer."
    )

    @field_validator("feedback", mode="before")
    @classmethod
    def _normalise_feedback(cls, value: object) -> object:
        if value is None or value == "":
            return None
        key = str(value).strip().lower()
        if key not in _FEEDBACK_SYNONYMS:
            raise ValueError(f"unknown feedback {value!r}; use 'up' or 'down'")
        return _FEEDBACK_SYNONYMS[key]

    @field_validator("at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # Retention compares times: a naive one (a hand-written row) is taken as UTC.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @property
    def key(self) -> tuple[str, int] | None:
        """(thread, turn) where both are known: how a rating finds the turn it rates."""
        if self.thread_id is None or self.turn is None:
            return None
        return (self.thread_id, self.turn)

    @property
    def flagged_citations(self) -> bool:
        """Whether the citation check removed a marker or found a sentence unsupported."""
        return self.removed_citations > 0 or bool(self.unsupported_sentences)


def latest_turn(messages: Sequence[AnyMessage]) -> int:
    """The index (from 0) of a thread's latest assistant reply: the turn a rating names."""
    return max(sum(m.type == "ai" for m in messages) - 1, 0)


def turn_record(
    state: Mapping[str, Any],
    answer: Answer,
    *,
    thread_id: str,
    escalated_by: EscalatedBy | None,
    at: datetime,
    variant: str | None = None,
    latency_ms: float | None = None,
    via: Literal["api", "slack"] | None = None,
) -> InteractionRecord:
    """The log row of a turn that ended in `answer`, from the thread's state after it."""
    chunks = state.get("chunks") or []
    asked = [m.text for m in state.get("messages") or [] if m.type == "human"]
    return InteractionRecord(
        kind="turn",
        question=str(state.get("question") or "(none)"),
        # The turn's own question is the last human message; the one before is what a
        # follow-up leans on (the judge reads the question with it).
        context=asked[-2] if len(asked) > 1 else "",
        answer=answer.text,
        thread_id=thread_id,
        turn=latest_turn(state.get("messages") or []),
        tenant=state.get("tenant"),
        via=via,
        user=state.get("user"),
        at=at,
        outcome=answer.outcome,
        action=answer.action,
        queries=list(answer.queries),
        retrieved=[c.chunk_id for c in chunks],
        citations=[
            CitedChunk(n=c.n, doc_id=c.doc_id, chunk_id=c.chunk_id) for c in answer.citations
        ],
        removed_citations=answer.removed_citations,
        unsupported_sentences=list(answer.unsupported_sentences),
        triage=answer.triage,
        escalation=answer.escalation,
        escalated_by=escalated_by if answer.outcome is Outcome.ESCALATED else None,
        variant=variant,
        latency_ms=latency_ms,
    )


def rating_record(
    state: Mapping[str, Any],
    *,
    thread_id: str,
    rating: Feedback,
    turn: int | None,
    comment: str | None,
    outcome: Outcome | None,
    at: datetime,
    variant: str | None = None,
    via: Literal["api", "slack"] | None = None,
) -> InteractionRecord | None:
    """The log row of a rating of a thread's `turn`-th assistant reply (from 0; its latest when
    None), from the thread's state; None when the thread has no such reply."""
    messages: Sequence[AnyMessage] = state.get("messages") or []
    replies = [i for i, m in enumerate(messages) if m.type == "ai"]
    latest = len(replies) - 1
    turn = latest if turn is None else turn
    if not 0 <= turn <= latest:
        return None
    asked = [m.text for m in messages[: replies[turn]] if m.type == "human"]
    if not asked:
        return None
    answer = state.get("answer")
    if outcome is None and turn == latest and isinstance(answer, Answer):
        outcome = answer.outcome
    return InteractionRecord(
        question=asked[-1],
        answer=messages[replies[turn]].text,
        feedback=rating,
        thread_id=thread_id,
        turn=turn,
        tenant=state.get("tenant"),
        via=via,
        user=state.get("user"),
        comment=comment,
        outcome=outcome,
        at=at,
        variant=variant,
    )

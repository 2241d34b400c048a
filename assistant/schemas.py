"""Typed models for everything that crosses a module boundary."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from assistant.kinds import Task
from assistant.policy import EscalationReason, Priority, TriagePolicy

Role = Literal["system", "user", "assistant"]


class TriageResult(BaseModel):
    """What triage says about one incoming message.

    ``category`` must be a label of the policy passed as validation context
    (``model_validate(data, context={"policy": policy})``), as a model's reply is checked.
    Without one (a logged turn, a checkpoint, an API client reading an answer) the category
    is what was recorded under the policy then in use, taken as it is.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str = Field(description="A category of the triage policy in use.")
    priority: Priority
    needs_human: bool

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str, info: ValidationInfo) -> str:
        policy: TriagePolicy | None = (info.context or {}).get("policy")
        if policy is not None and value not in policy.categories:
            raise ValueError(f"unknown category {value!r} (not in the policy {policy.name!r})")
        return value


class EscalationDecision(BaseModel):
    """Whether a request goes to a human, why, and the note that human reads first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    escalate: bool
    reason: EscalationReason
    summary: str = Field("", max_length=400, description="Hand-off note; empty if not escalated.")

    @model_validator(mode="after")
    def _reason_matches_decision(self) -> EscalationDecision:
        # An escalation without a reason (or a reason without one) is a contradiction the
        # human reading the hand-off could not act on: reject it so it gets repaired.
        if self.escalate == (self.reason == "none"):
            raise ValueError(
                "`reason` must be 'none' exactly when `escalate` is false"
                f" (got escalate={self.escalate}, reason={self.reason!r})"
            )
        return self


class ChatTurn(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class ChatExample(BaseModel):
    """One supervised example: the prompt turns, then the assistant reply to learn."""

    task: Task
    messages: list[ChatTurn] = Field(min_length=2)
    source: str = Field(description="Where the example came from, e.g. `banking77_train.jsonl:12`.")
    key: str = Field(description="The real text whose hash decides the train/dev split.")

    @field_validator("messages")
    @classmethod
    def _ends_with_reply(cls, value: list[ChatTurn]) -> list[ChatTurn]:
        if value[-1].role != "assistant":
            raise ValueError("the last turn must be the assistant reply to learn")
        return value

    @property
    def reply(self) -> str:
        return self.messages[-1].content


# "text": paragraphs and nothing else (a JSONL record's passage, a document posted as text);
# "plain": a plain-text file, whose short lines standing alone are its headings;
# "pages": Markdown pages separated by form feeds (a PDF), so each chunk knows its page.
DocFormat = Literal["text", "plain", "markdown", "html", "pages"]


class Document(BaseModel):
    """One source document before chunking."""

    doc_id: str = Field(min_length=1)
    title: str = ""
    text: str
    url: str = ""
    source: str = Field("", description="Where it came from: a file path, or a JSONL file:line.")
    tenant: str = "default"
    metadata: dict[str, str] = Field(default_factory=dict)
    format: DocFormat = Field("text", description="How `text` is marked up; picks the chunker.")


class InjectionFlag(BaseModel):
    """A sentence of a chunk that instructs its reader or the assistant (see
    `assistant.knowledge.injection`): stored with the chunk, never quoted nor shown to a model."""

    sentence: str
    reason: str = Field(description="Which rule found it, e.g. `asks for credentials`.")


class Chunk(BaseModel):
    """A piece of a document as stored in the index."""

    chunk_id: str = Field(description="UUID derived from the chunk's content and place.")
    doc_id: str
    tenant: str
    text: str
    title: str = ""
    url: str = ""
    source: str = ""
    section: str = Field("", description="Heading path, e.g. 'Setup > vLLM'.")
    page: int | None = Field(None, ge=1, description="The page it is on, for paged documents.")
    position: int = Field(0, ge=0, description="Order of the chunk within its document.")
    content_hash: str = ""
    metadata: dict[str, str] = Field(
        default_factory=dict, description="The document's metadata (e.g. a Zendesk section)."
    )
    injections: list[InjectionFlag] = Field(
        default_factory=list,
        description="Sentences flagged at ingest as instructions to the reader or assistant.",
    )


class RetrievedChunk(Chunk):
    score: float
    dense_score: float | None = Field(
        None, description="Cosine similarity of query and chunk, when known."
    )


class FlaggedSentence(InjectionFlag):
    """A flagged sentence as an ingest run lists it: which document it is in."""

    doc_id: str
    source: str = ""


class IngestReport(BaseModel):
    docs: int = 0
    docs_unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    skipped: int = 0
    errors: list[str] = Field(default_factory=list)
    flagged: list[FlaggedSentence] = Field(
        default_factory=list,
        description="Sentences of the ingested documents that instruct the reader or the "
        "assistant (kept in the index with the flag, never quoted in an answer).",
    )


class Action(StrEnum):
    RETRIEVE = "retrieve"
    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"


class Outcome(StrEnum):
    """What the turn ended with."""

    ANSWERED = "answered"
    # Answered from what was found, said plainly that it may not cover the question, with a
    # person offered: the judge was not confident enough to answer plainly.
    HEDGED = "hedged"
    ANSWERED_DIRECTLY = "answered_directly"
    CLARIFY = "clarify"
    DECLINED = "declined"
    ESCALATED = "escalated"
    HUMAN_REPLY = "human_reply"


class Citation(BaseModel):
    n: int = Field(ge=1, description="The marker number as it appears in the text: [n].")
    doc_id: str
    chunk_id: str
    title: str = ""
    url: str = Field(
        "",
        description="The document's URL, or its source file's name (`guide.pdf`) when it has "
        "none: never a path on the server.",
    )
    page: int | None = Field(None, ge=1, description="The cited page of a paged document.")
    quote: str = Field("", description="The start of the cited chunk.")


class NodeTiming(BaseModel):
    node: str
    ms: float


class Answer(BaseModel):
    """What a turn of the assistant returns."""

    text: str
    citations: list[Citation] = Field(default_factory=list)
    outcome: Outcome
    action: Action = Field(description="The model's first decision for this turn.")
    thread_id: str | None = None
    queries: list[str] = Field(default_factory=list, description="Search queries, in order.")
    removed_citations: int = Field(0, ge=0, description="Invalid [n] markers the check removed.")
    unsupported_sentences: list[str] = Field(
        default_factory=list,
        description="Sentences the cited chunks do not support (removed from `text` when "
        "ASSISTANT_VERIFY_CITATIONS=remove).",
    )
    triage: TriageResult | None = Field(None, description="The triage adapter's reading.")
    escalation: EscalationDecision | None = Field(
        None, description="Why and with which hand-off note the turn went to a human."
    )
    notice: str = Field(
        "",
        description="What the customer must be told with the answer: for a hedged answer, "
        "that it may not cover the question and that a person can take it.",
    )
    offer_human: bool = Field(
        False,
        description="A person should be offered with this answer: triage says one should take "
        "it (ASSISTANT_TRIAGE_HAND_OVER=offer), or the answer is hedged.",
    )
    timings: list[NodeTiming] = Field(default_factory=list)
    variant: str | None = Field(
        None, description="The experiment's variant this thread is in (ASSISTANT_EXPERIMENT)."
    )

    def shown_text(self) -> str:
        """The text and its notice, for an interface that can show only one text."""
        return f"{self.text}\n\n{self.notice}" if self.notice else self.text

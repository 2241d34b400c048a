"""Typed models for everything that crosses a module boundary."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from assistant.adapters.schemas import EscalationDecision, TriageResult

# "pages": Markdown pages separated by form feeds (a PDF), so each chunk knows its page.
DocFormat = Literal["text", "markdown", "html", "pages"]


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


class RetrievedChunk(Chunk):
    score: float
    dense_score: float | None = Field(
        None, description="Cosine similarity of query and chunk, when known."
    )


class IngestReport(BaseModel):
    docs: int = 0
    docs_unchanged: int = 0
    chunks_added: int = 0
    chunks_removed: int = 0
    chunks_unchanged: int = 0
    skipped: int = 0
    errors: list[str] = Field(default_factory=list)


class Action(StrEnum):
    RETRIEVE = "retrieve"
    ANSWER = "answer"
    CLARIFY = "clarify"
    ESCALATE = "escalate"


class Outcome(StrEnum):
    """What the turn ended with."""

    ANSWERED = "answered"
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
        description="The document's URL, or its source path (`file.pdf, p. 3`) when it has none.",
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
    timings: list[NodeTiming] = Field(default_factory=list)

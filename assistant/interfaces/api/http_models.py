"""Request and response bodies of the API's own endpoints (the OpenAI-compatible ones are in
`openai_schemas.py`). Content checks on messages (empty, too long) are left to the assistant's
own `check_question`, so the API and the CLI refuse the same input with the same words."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from assistant.interaction_log import Feedback
from assistant.policy import EscalationReason
from assistant.schemas import Answer, Citation, TriageResult

# Thread ids travel in URLs and headers: keep them to a safe alphabet.
THREAD_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
# End users travel in URLs too (`DELETE /v1/users/{user}`): an id, an e-mail address.
USER_PATTERN = r"^[A-Za-z0-9._:@+-]{1,128}$"
# Response header with the turn's thread id (also a request header of the OpenAI endpoint).
THREAD_HEADER = "X-Thread-Id"


class ChatRequest(BaseModel):
    message: str = Field(description="The customer's message.")
    thread_id: str | None = Field(
        None,
        pattern=THREAD_ID_PATTERN,
        description="Continue this thread; unset starts a new one (its id is in the answer). "
        "Threads are per tenant: another tenant's thread of the same id is another thread.",
    )
    user: str | None = Field(
        None,
        pattern=USER_PATTERN,
        description="The end user the thread is about (your id for them), kept with the "
        "thread and its log rows so `DELETE /v1/users/{user}` erases everything of theirs.",
    )


class ResumeRequest(BaseModel):
    reply: str = Field(description="The human agent's reply to the customer.")


class Escalated(BaseModel):
    """A thread handed to a human at the customer's request; it waits for `resume` now."""

    thread_id: str
    reason: EscalationReason
    summary: str = Field(description="The hand-off note the human reads first.")
    answer: Answer = Field(description="What the customer is told while they wait.")


class FeedbackRequest(BaseModel):
    thread_id: str = Field(pattern=THREAD_ID_PATTERN)
    rating: Feedback
    comment: str | None = Field(None, max_length=4000)
    turn: int | None = Field(
        None, ge=0, description="Which answer of the thread, from 0; omitted = its latest."
    )


class TriageRequest(BaseModel):
    """One ticket in `text`, or several in `texts`."""

    text: str | None = None
    texts: list[str] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> TriageRequest:
        if (self.text is None) == (self.texts is None):
            raise ValueError("send either `text` (one ticket) or `texts` (a list), not both")
        return self


class TriageItem(BaseModel):
    """The triage of one ticket of a list, or why it has none."""

    result: TriageResult | None = None
    error: str | None = None


class TriageBatch(BaseModel):
    results: list[TriageItem] = Field(description="In the order of `texts`.")


class DeletedDocument(BaseModel):
    doc_id: str
    chunks_removed: int


class Check(BaseModel):
    name: Literal["store", "model"]
    ok: bool
    detail: str = ""


class Readiness(BaseModel):
    ready: bool
    checks: list[Check] | None = Field(
        None, description="Each check and what failed: only for a request with a valid API key."
    )


class Health(BaseModel):
    status: Literal["ok"] = "ok"


# --- streamed events of POST /v1/chat (text/event-stream) ------------------------------------


class StepEvent(BaseModel):
    """`event: step`: a node of the graph finished (triage, decide, retrieve, ...)."""

    node: str


class TokenEvent(BaseModel):
    """`event: token`: the next piece of the answer text; the pieces join to `final.text`."""

    text: str


class CitationsEvent(BaseModel):
    """`event: citations`: the sources the answer's [n] markers point at."""

    citations: list[Citation]


FinalEvent = Answer
"""`event: final`: the whole answer, as `POST /v1/chat` returns it without streaming."""

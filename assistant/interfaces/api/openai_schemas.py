"""The OpenAI Chat Completions shapes `POST /v1/chat/completions` reads and writes.

Only what the assistant uses is modelled; other request fields (temperature, tools, ...) are
accepted and ignored, since the graph, not the caller, decides how the model is used.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.errors import InputError
from assistant.schemas import Citation, Outcome

MODEL_ID = "hybrid-assistant"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class RequestMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: str = MODEL_ID
    messages: list[RequestMessage] = Field(min_length=1)
    stream: bool = False
    user: str | None = None
    metadata: dict[str, str] | None = Field(
        None, description="`thread_id` here continues an assistant thread (or X-Thread-Id)."
    )

    def question(self) -> str:
        """The last user message: the graph keeps the conversation itself, per thread."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text
        raise InputError("the request has no message with role `user`")


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    """A chat completion, plus the assistant's own fields (`citations`, `thread_id`,
    `outcome`), which OpenAI clients keep as extra attributes."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    citations: list[Citation] = Field(default_factory=list)
    thread_id: str
    outcome: Outcome


class Delta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """One streamed piece; the last one (finish_reason `stop`) carries the citations."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    citations: list[Citation] | None = None
    thread_id: str | None = None
    outcome: Outcome | None = None


class ModelCard(BaseModel):
    id: str = MODEL_ID
    object: Literal["model"] = "model"
    created: int = 0
    owned_by: str = MODEL_ID


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard] = Field(default_factory=lambda: [ModelCard()])

"""OpenAI-compatible Chat Completions, so existing chat UIs and SDKs can talk to the assistant.

The assistant keeps each conversation itself, per thread: the question is the last user
message, and `X-Thread-Id` (or `metadata.thread_id`) continues a thread. Without one, every
request is a new thread; its id comes back in `thread_id` and the `X-Thread-Id` header.
"""

from __future__ import annotations

import re
import time
import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Response
from fastapi.sse import EventSourceResponse

from assistant.interfaces.api.app_state import Runtime
from assistant.interfaces.api.auth import Tenant, request_tenant
from assistant.interfaces.api.http_models import THREAD_HEADER, THREAD_ID_PATTERN, USER_PATTERN
from assistant.interfaces.api.openai_schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    ModelList,
)
from assistant.interfaces.api.problems import ApiError
from assistant.interfaces.api.streaming import completion_stream, stream_headers, turn_events
from assistant.schemas import Answer
from assistant.service import TurnListener, check_question

router = APIRouter(tags=["openai"])

STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A chat completion; with `stream: true`, `chat.completion.chunk` "
        "events ending with `data: [DONE]`.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    responses=STREAM_DOC,
)
async def chat_completions(
    body: ChatCompletionRequest,
    response: Response,
    runtime: Runtime,
    tenant: Tenant,
    x_thread_id: Annotated[str | None, Header(pattern=THREAD_ID_PATTERN)] = None,
) -> ChatCompletion | EventSourceResponse:
    """Answer the last user message; citations ride in the extra `citations` field."""
    question = check_question(body.question(), runtime.settings.max_question_chars)
    thread_id = x_thread_id or (body.metadata or {}).get("thread_id") or uuid.uuid4().hex
    if not re.fullmatch(THREAD_ID_PATTERN, thread_id):
        raise ApiError(400, f"invalid thread id {thread_id!r} (letters, digits, . _ : -)")
    assistant = runtime.assistant
    user = body.user or None
    if user is not None and not re.fullmatch(USER_PATTERN, user):
        raise ApiError(400, f"invalid user {user!r} (letters, digits, . _ : @ + -)")

    def work(listener: TurnListener | None) -> Answer:
        return assistant.ask(
            question, thread_id=thread_id, tenant=tenant, user=user, listener=listener
        )

    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())
    if body.stream:
        events = completion_stream(
            turn_events(runtime, work),
            completion_id=completion_id,
            model=body.model,
            created=created,
        )
        return EventSourceResponse(events, headers=stream_headers(thread_id))
    answer = await runtime.call(partial(work, None))
    response.headers[THREAD_HEADER] = thread_id
    return ChatCompletion(
        id=completion_id,
        created=created,
        model=body.model,
        choices=[Choice(message=AssistantMessage(content=answer.shown_text()))],
        citations=answer.citations,
        thread_id=thread_id,
        outcome=answer.outcome,
    )


@router.get("/v1/models", dependencies=[Depends(request_tenant)])
async def list_models() -> ModelList:
    """The one model this API serves (chat UIs list models before they chat)."""
    return ModelList()

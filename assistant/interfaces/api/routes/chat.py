"""`POST /v1/chat`: one turn, as JSON or as Server-Sent Events."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.sse import EventSourceResponse

from assistant.interfaces.api.app_state import ApiRuntime, Runtime
from assistant.interfaces.api.auth import Tenant
from assistant.interfaces.api.http_models import THREAD_HEADER, ChatRequest
from assistant.interfaces.api.streaming import TurnWork, chat_stream, stream_headers, turn_events
from assistant.schemas import Answer
from assistant.service import TurnListener, check_question

router = APIRouter(tags=["chat"])

SSE_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The answer; with `Accept: text/event-stream`, a stream of `step`, "
        "`token`, `citations` and `final` events (`error` on failure).",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }
}


def wants_stream(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


async def answer_turn(
    runtime: ApiRuntime, work: TurnWork, *, stream: bool, thread_id: str, response: Response
) -> Answer | EventSourceResponse:
    """Run a turn (ask or resume) as JSON, or as an event stream when `stream`."""
    if stream:
        events = chat_stream(turn_events(runtime, work))
        return EventSourceResponse(events, headers=stream_headers(thread_id))
    response.headers[THREAD_HEADER] = thread_id
    return await runtime.call(partial(work, None))


@router.post("/v1/chat", response_model=Answer, responses=SSE_DOC)
async def chat(
    body: ChatRequest, request: Request, response: Response, runtime: Runtime, tenant: Tenant
) -> Answer | EventSourceResponse:
    """Answer a message with citations; the thread id comes back in `X-Thread-Id` too."""
    question = check_question(body.message, runtime.settings.max_question_chars)
    # Another tenant's thread of the same id is another thread (the assistant keys threads by
    # tenant and checks the owner under the thread's lock): nothing to check here.
    thread_id = body.thread_id or uuid.uuid4().hex
    assistant = runtime.assistant

    def work(listener: TurnListener | None) -> Answer:
        return assistant.ask(
            question, thread_id=thread_id, tenant=tenant, user=body.user, listener=listener
        )

    return await answer_turn(
        runtime, work, stream=wants_stream(request), thread_id=thread_id, response=response
    )

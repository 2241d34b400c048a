"""Streaming a turn: node progress while the graph runs, then the answer in word pieces.

The answer is produced by constrained decoding (a choice among passage sentences, or a regex),
so it is complete when the graph ends; it is streamed in word pieces for chat UIs. What does
stream live is the graph's progress: one `step` event per node as it finishes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable

from fastapi.sse import format_sse_event
from pydantic import BaseModel

from assistant.api.errors import ErrorBody, ErrorDetail, describe
from assistant.api.openai_schemas import ChatCompletionChunk, ChunkChoice, Delta
from assistant.api.runtime import ApiRuntime
from assistant.api.schemas import THREAD_HEADER, CitationsEvent, StepEvent, TokenEvent
from assistant.errors import AssistantError
from assistant.schemas import Answer
from assistant.service import StepCallback

log = logging.getLogger(__name__)

TurnWork = Callable[[StepCallback | None], Answer]
"""A turn to run (ask or resume), given the callback that hears each finished node, if any."""

_PIECE = re.compile(r"\S+\s*|\s+")


def word_pieces(text: str) -> list[str]:
    """`text` in pieces of one word and the space after it; the pieces join to `text`."""
    return _PIECE.findall(text)


async def turn_events(runtime: ApiRuntime, work: TurnWork) -> AsyncIterator[StepEvent | Answer]:
    """Run `work` in a worker thread; yield a `StepEvent` per finished node, then the answer.

    Raises what `work` raised. If the consumer stops early (client gone), the turn still
    runs to its end, so the thread's checkpoint is never left half-written.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | Answer | BaseException] = asyncio.Queue()

    def post(item: str | Answer | BaseException) -> None:
        # RuntimeError: the event loop is closed, so nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def job() -> None:
        try:
            post(work(post))
        except Exception as exc:  # handed to the consumer, which reports it as an event
            post(exc)

    def on_done(future: asyncio.Future[None]) -> None:
        if future.cancelled() or future.exception() is not None:
            queue.put_nowait(RuntimeError("the turn was stopped before it finished"))

    runtime.spawn(runtime.call(job)).add_done_callback(on_done)
    while True:
        item = await queue.get()
        if isinstance(item, str):
            yield StepEvent(node=item)
        elif isinstance(item, BaseException):
            raise item
        else:
            yield item
            return


def stream_headers(thread_id: str) -> dict[str, str]:
    return {
        THREAD_HEADER: thread_id,
        "Cache-Control": "no-cache",
        # Tells nginx-style proxies not to buffer: events must reach the client as they go.
        "X-Accel-Buffering": "no",
    }


def sse(event: str, payload: BaseModel) -> bytes:
    return format_sse_event(data_str=payload.model_dump_json(), event=event)


def _error_body(exc: Exception) -> ErrorBody:
    if isinstance(exc, AssistantError):
        return ErrorBody(error=describe(exc)[1])
    log.error("turn failed while streaming", exc_info=exc)
    message = f"internal error ({type(exc).__name__}); the server log has the details"
    return ErrorBody(error=ErrorDetail(type="internal_error", message=message))


async def chat_stream(events: AsyncIterator[StepEvent | Answer]) -> AsyncIterator[bytes]:
    """`POST /v1/chat` as Server-Sent Events: `step`*, `token`*, `citations`, `final`.

    A failure is sent as an `error` event and the stream ends normally: never a cut connection.
    """
    try:
        async for item in events:
            if isinstance(item, StepEvent):
                yield sse("step", item)
                continue
            for piece in word_pieces(item.text):
                yield sse("token", TokenEvent(text=piece))
            yield sse("citations", CitationsEvent(citations=item.citations))
            yield sse("final", item)
    except Exception as exc:
        yield sse("error", _error_body(exc))


async def completion_stream(
    events: AsyncIterator[StepEvent | Answer], *, completion_id: str, model: str, created: int
) -> AsyncIterator[bytes]:
    """`POST /v1/chat/completions` streamed as OpenAI chunks, ending with `data: [DONE]`.

    Progress goes out as SSE comments (clients ignore them; proxies see a live connection);
    the last chunk carries the citations; a failure is an OpenAI-style `{"error": ...}` chunk.
    """

    def chunk(delta: Delta, last: Answer | None = None) -> bytes:
        body = ChatCompletionChunk(
            id=completion_id,
            created=created,
            model=model,
            choices=[ChunkChoice(delta=delta, finish_reason="stop" if last else None)],
            citations=last.citations if last else None,
            thread_id=last.thread_id if last else None,
            outcome=last.outcome if last else None,
        )
        return format_sse_event(data_str=body.model_dump_json(exclude_none=True))

    yield chunk(Delta(role="assistant", content=""))
    try:
        async for item in events:
            if isinstance(item, StepEvent):
                yield format_sse_event(comment=f"step {item.node}")
                continue
            for piece in word_pieces(item.text):
                yield chunk(Delta(content=piece))
            yield chunk(Delta(), last=item)
    except Exception as exc:
        yield format_sse_event(data_str=_error_body(exc).model_dump_json())
    yield format_sse_event(data_str="[DONE]")

"""Streaming a turn: node progress and the answer's pieces while the graph runs.

One `step` event per node as it finishes, and the answer's text as the generate node releases
it (`assistant.turn.release`: each verified sentence, or the model's tokens with verification off).
What was not sent live by the end of the turn (all of a decline, a hand-over or a direct
answer) follows in word pieces, so the text events always join to the final answer's text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable

from fastapi.sse import format_sse_event
from pydantic import BaseModel

from assistant.errors import AssistantError
from assistant.interfaces.api.app_state import ApiRuntime
from assistant.interfaces.api.http_models import (
    THREAD_HEADER,
    CitationsEvent,
    StepEvent,
    TokenEvent,
)
from assistant.interfaces.api.openai_schemas import ChatCompletionChunk, ChunkChoice, Delta
from assistant.interfaces.api.problems import ErrorBody, ErrorDetail, describe
from assistant.schemas import Answer
from assistant.service import TurnListener

log = logging.getLogger(__name__)

TurnWork = Callable[[TurnListener | None], Answer]
"""A turn to run (ask or resume), given what hears its nodes and answer pieces, if anything."""
TurnEvent = StepEvent | TokenEvent | Answer

_PIECE = re.compile(r"\S+\s*|\s+")


def word_pieces(text: str) -> list[str]:
    """`text` in pieces of one word and the space after it; the pieces join to `text`."""
    return _PIECE.findall(text)


async def turn_events(runtime: ApiRuntime, work: TurnWork) -> AsyncIterator[TurnEvent]:
    """Run `work` in a worker thread; yield a `StepEvent` per finished node and a `TokenEvent`
    per released piece of the answer as they come, then the answer.

    Raises what `work` raised. If the consumer stops early (client gone), the turn still
    runs to its end, so the thread's checkpoint is never left half-written.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[TurnEvent | BaseException] = asyncio.Queue()

    def post(item: TurnEvent | BaseException) -> None:
        # RuntimeError: the event loop is closed, so nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def job() -> None:
        try:
            listener = TurnListener(
                on_step=lambda node: post(StepEvent(node=node)),
                on_text=lambda text: post(TokenEvent(text=text)),
            )
            post(work(listener))
        except Exception as exc:  # handed to the consumer, which reports it as an event
            post(exc)

    def on_done(future: asyncio.Future[None]) -> None:
        if future.cancelled() or future.exception() is not None:
            queue.put_nowait(RuntimeError("the turn was stopped before it finished"))

    runtime.spawn(runtime.call(job)).add_done_callback(on_done)
    while True:
        item = await queue.get()
        if isinstance(item, BaseException):
            raise item
        yield item
        if isinstance(item, Answer):
            return


def unsent_pieces(answer: Answer, sent: str) -> list[str]:
    """What of `answer`'s text is left to send after `sent`, in word pieces."""
    if not answer.text.startswith(sent):
        # The release guarantees it; if that ever broke, the final event still has the answer.
        log.error("the streamed text is not the start of the answer of thread %s", answer.thread_id)
        return []
    return word_pieces(answer.text[len(sent) :])


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


async def chat_stream(events: AsyncIterator[TurnEvent]) -> AsyncIterator[bytes]:
    """`POST /v1/chat` as Server-Sent Events: `step` and `token` as they come, `citations`,
    `final`. The tokens join to the final answer's text.

    A failure is sent as an `error` event and the stream ends normally: never a cut connection.
    """
    sent = ""
    try:
        async for item in events:
            if isinstance(item, StepEvent):
                yield sse("step", item)
                continue
            if isinstance(item, TokenEvent):
                sent += item.text
                yield sse("token", item)
                continue
            for piece in unsent_pieces(item, sent):
                yield sse("token", TokenEvent(text=piece))
            yield sse("citations", CitationsEvent(citations=item.citations))
            yield sse("final", item)
    except Exception as exc:
        yield sse("error", _error_body(exc))


async def completion_stream(
    events: AsyncIterator[TurnEvent], *, completion_id: str, model: str, created: int
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
    sent = ""
    try:
        async for item in events:
            if isinstance(item, StepEvent):
                yield format_sse_event(comment=f"step {item.node}")
                continue
            if isinstance(item, TokenEvent):
                sent += item.text
                yield chunk(Delta(content=item.text))
                continue
            for piece in unsent_pieces(item, sent):
                yield chunk(Delta(content=piece))
            if item.notice:
                # A chat UI shows only the content: the hedge goes with it.
                yield chunk(Delta(content=f"\n\n{item.notice}"))
            yield chunk(Delta(), last=item)
    except Exception as exc:
        yield format_sse_event(data_str=_error_body(exc).model_dump_json())
    yield format_sse_event(data_str="[DONE]")

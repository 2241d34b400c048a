"""A thread after its turn: the customer asks for a human, the human's reply, the customer's
rating; and erasure, of one thread or of everything of one end user.

Every call names the thread by the client's id and the tenant by the key: the assistant checks
the owner under the thread's lock, and another tenant's thread is exactly as missing."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Request, Response
from fastapi.sse import EventSourceResponse

from assistant.interfaces.api.app_state import Runtime
from assistant.interfaces.api.auth import Tenant
from assistant.interfaces.api.http_models import (
    THREAD_ID_PATTERN,
    USER_PATTERN,
    Escalated,
    FeedbackRequest,
    ResumeRequest,
)
from assistant.interfaces.api.routes.chat import SSE_DOC, answer_turn, wants_stream
from assistant.schemas import Answer
from assistant.service import TurnListener, check_question
from assistant.thread_erasure import Erasure

router = APIRouter(tags=["threads"])

ThreadPath = Annotated[str, Path(pattern=THREAD_ID_PATTERN)]
UserPath = Annotated[str, Path(pattern=USER_PATTERN)]


@router.post("/v1/threads/{thread_id}/escalate", response_model=Escalated)
async def escalate(thread_id: ThreadPath, runtime: Runtime, tenant: Tenant) -> Escalated:
    """Hand a thread to a human at the customer's request; it then waits for `resume`.

    404 for an unknown thread (or another tenant's), 400 if it is already with a human.
    """
    answer = await runtime.call(partial(runtime.assistant.hand_over, thread_id, tenant=tenant))
    decision = answer.escalation
    return Escalated(
        thread_id=thread_id,
        reason=decision.reason if decision else "human_requested",
        summary=decision.summary if decision else "",
        answer=answer,
    )


@router.post(
    "/v1/threads/{thread_id}/resume",
    response_model=Answer,
    responses=SSE_DOC,
)
async def resume(
    thread_id: ThreadPath,
    body: ResumeRequest,
    request: Request,
    response: Response,
    runtime: Runtime,
    tenant: Tenant,
) -> Answer | EventSourceResponse:
    """Continue a thread handed to a human with the human's reply (400 if it is not waiting)."""
    reply = check_question(body.reply, runtime.settings.max_question_chars)
    await runtime.require_thread(thread_id, tenant)
    assistant = runtime.assistant

    def work(listener: TurnListener | None) -> Answer:
        return assistant.resume(thread_id, reply, tenant=tenant, listener=listener)

    return await answer_turn(
        runtime, work, stream=wants_stream(request), thread_id=thread_id, response=response
    )


@router.post("/v1/feedback", status_code=204)
async def feedback(body: FeedbackRequest, runtime: Runtime, tenant: Tenant) -> None:
    """Rate an answer of a thread (its latest unless `turn` says which). Logged in the
    interaction log beside the turn it rates (`interactions.jsonl` in the data folder), which
    `assistant adapters build-data --from-log` reads. 404 for a thread without that answer."""
    rate = partial(
        runtime.assistant.rate,
        body.thread_id,
        body.rating,
        tenant=tenant,
        turn=body.turn,
        comment=body.comment,
    )
    await anyio.to_thread.run_sync(rate)


@router.delete("/v1/threads/{thread_id}", status_code=204)
async def delete_thread(thread_id: ThreadPath, runtime: Runtime, tenant: Tenant) -> None:
    """Erase a thread: its conversation from the thread store and its rows from the
    interaction log, with nothing left on disk. 404 for an unknown thread (or another
    tenant's)."""
    forget = partial(runtime.assistant.forget_thread, thread_id, tenant=tenant)
    await anyio.to_thread.run_sync(forget)


@router.delete("/v1/users/{user}", response_model=Erasure)
async def forget_user(user: UserPath, runtime: Runtime, tenant: Tenant) -> Erasure:
    """Erase everything of one end user of the tenant: every thread a turn named them in
    (`user` of `POST /v1/chat`, of the Chat Completions request) and every interaction-log
    row of theirs. Slack threads are the Slack bot's: `assistant users forget` erases those."""
    forget = partial(runtime.assistant.forget_user, user, tenant=tenant, via="api")
    return await anyio.to_thread.run_sync(forget)

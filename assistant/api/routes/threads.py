"""A thread after its turn: a human's reply to a handed-over thread, and the customer's rating."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.sse import EventSourceResponse

from assistant.api.auth import Tenant
from assistant.api.errors import ApiError
from assistant.api.routes.chat import SSE_DOC, answer_turn, wants_stream
from assistant.api.runtime import Runtime
from assistant.api.schemas import THREAD_ID_PATTERN, FeedbackRecord, FeedbackRequest, ResumeRequest
from assistant.schemas import Answer
from assistant.service import StepCallback, check_question

router = APIRouter(tags=["threads"])

ThreadPath = Annotated[str, Path(pattern=THREAD_ID_PATTERN)]


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
    if not await runtime.check_thread(thread_id, tenant):
        raise ApiError(404, f"no thread {thread_id!r}")
    assistant = runtime.assistant

    def work(on_step: StepCallback | None) -> Answer:
        return assistant.resume(thread_id, reply, on_step=on_step)

    return await answer_turn(
        runtime, work, stream=wants_stream(request), thread_id=thread_id, response=response
    )


@router.post("/v1/feedback", status_code=204)
async def feedback(body: FeedbackRequest, runtime: Runtime, tenant: Tenant) -> None:
    """Rate the latest answer of a thread. Logged as an interaction-log row (JSONL in the
    data folder, `feedback.jsonl`) that the adapter data builders read (`--log`)."""
    values = await runtime.check_thread(body.thread_id, tenant)
    answer = values.get("answer")
    if not isinstance(answer, Answer):
        raise ApiError(404, f"no answered turn in thread {body.thread_id!r}")
    record = FeedbackRecord(
        question=str(values.get("question", "")),
        answer=answer.text,
        feedback=body.rating,
        thread_id=body.thread_id,
        tenant=tenant,
        comment=body.comment,
        outcome=answer.outcome.value,
        at=datetime.now(UTC),
    )
    await runtime.append_line(
        runtime.settings.feedback_log_path, record.model_dump_json(exclude_none=True)
    )

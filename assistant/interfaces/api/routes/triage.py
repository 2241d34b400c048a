"""`POST /v1/triage`: the triage adapter's reading of one ticket or a list of them."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from fastapi import APIRouter, Depends

from assistant.errors import InputError
from assistant.interfaces.api.app_state import Runtime
from assistant.interfaces.api.auth import request_tenant
from assistant.interfaces.api.http_models import TriageBatch, TriageItem, TriageRequest
from assistant.interfaces.api.problems import ApiError
from assistant.llm.errors import ModelOutputError
from assistant.schemas import TriageResult
from assistant.service import check_question
from assistant.triage.engines import Triage

# Triage reads no knowledge base, so the tenant only authenticates the caller.
router = APIRouter(tags=["triage"], dependencies=[Depends(request_tenant)])


@router.post("/v1/triage", response_model=TriageResult | TriageBatch)
async def triage_tickets(body: TriageRequest, runtime: Runtime) -> TriageResult | TriageBatch:
    """`{"text": ...}` -> one `TriageResult`; `{"texts": [...]}` -> `{"results": [...]}` in
    order, where a ticket that cannot be triaged has an `error` instead of a `result`."""
    triage = runtime.assistant.triage
    limit = runtime.settings.max_question_chars
    if body.text is not None:
        text = check_question(body.text, limit)
        return await runtime.call(partial(triage, text))
    texts = body.texts or []
    most = runtime.settings.serve_max_triage_texts
    if len(texts) > most:
        raise ApiError(
            422,
            f"{len(texts)} texts; at most {most} per request (ASSISTANT_SERVE_MAX_TRIAGE_TEXTS)",
        )
    return await runtime.call(partial(triage_each, triage, texts, limit))


def triage_each(triage: Triage, texts: Sequence[str], max_chars: int) -> TriageBatch:
    """Triage every text; a bad text or an unusable reply is that item's error. An unreachable
    model fails the whole request (503): every other item would fail the same way."""
    items = []
    for text in texts:
        try:
            items.append(TriageItem(result=triage(check_question(text, max_chars))))
        except (InputError, ModelOutputError) as exc:
            items.append(TriageItem(error=str(exc)))
    return TriageBatch(results=items)

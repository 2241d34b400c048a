"""Liveness and readiness probes (no API key: orchestrators call them)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from assistant.interfaces.api.app_state import Runtime
from assistant.interfaces.api.http_models import Health, Readiness
from assistant.interfaces.api.readiness import readiness

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> Health:
    """The process is up and serving (says nothing about the model or the store)."""
    return Health()


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(runtime: Runtime) -> JSONResponse:
    """200 when the store and the model backend both answer; 503 with the failing check."""
    report = await readiness(runtime)
    return JSONResponse(report.model_dump(), status_code=200 if report.ready else 503)

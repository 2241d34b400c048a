"""Liveness and readiness probes (no API key: orchestrators call them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from assistant.interfaces.api.app_state import Runtime
from assistant.interfaces.api.auth import (
    authenticate,
    bearer_scheme,
    key_header_scheme,
    request_key,
)
from assistant.interfaces.api.client_address import client_address
from assistant.interfaces.api.http_models import Health, Readiness
from assistant.interfaces.api.readiness import readiness

router = APIRouter(tags=["health"])

# An orchestrator probes a pod by its address, so these answer whatever the Host header.
PROBE_PATHS = ("/healthz", "/readyz")


@router.get("/healthz")
async def healthz() -> Health:
    """The process is up and serving (says nothing about the model or the store)."""
    return Health()


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(
    request: Request,
    runtime: Runtime,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    header_key: Annotated[str | None, Depends(key_header_scheme)],
) -> JSONResponse:
    """200 when the store and the model backend both answer, 503 otherwise. Without a key,
    only that (`{"ready": false}`): which check failed and why (a server's URL, an error's
    text) is for a valid API key, and the server log."""
    key = request_key(bearer, header_key)
    # A key given here is checked like anywhere else (401, and counted against the address),
    # or this route would tell a guesser which key is right without any limit.
    detailed = key is not None and bool(runtime.settings.serve_api_keys)
    if detailed:
        address = client_address(request.scope, runtime.trusted_proxies)
        authenticate(runtime.rate_limits, runtime.settings, key, address)
    report = await readiness(runtime)
    shown = report if detailed else Readiness(ready=report.ready)
    return JSONResponse(
        shown.model_dump(exclude_none=True), status_code=200 if report.ready else 503
    )

"""The FastAPI application: lifespan, limits, error handlers and routers. Nothing else."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI

from assistant.interfaces.api.app_state import ApiRuntime
from assistant.interfaces.api.auth import warn_if_open
from assistant.interfaces.api.limits import BodyLimitMiddleware
from assistant.interfaces.api.problems import install_error_handlers
from assistant.interfaces.api.rate_limits import RateLimits
from assistant.interfaces.api.readiness import warm_up
from assistant.interfaces.api.routes import (
    chat,
    completions,
    documents,
    health,
    page,
    threads,
    triage,
)
from assistant.interfaces.api.same_origin import SameOriginMiddleware
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.tracing import open_tracer_provider

DESCRIPTION = """
A support assistant over your knowledge base: answers with checked citations, triage, and
hand-over to a human.

**Auth.** Send `Authorization: Bearer KEY` or `X-API-Key: KEY`; each key (setting
`ASSISTANT_SERVE_API_KEYS`, JSON `{"key": "tenant"}`) scopes every query, upload and thread to
its tenant. With no keys configured the API is open and serves the default tenant (served on a
loopback address only, unless `ASSISTANT_SERVE_OPEN=true`). Requests must name an allowed host
(`ASSISTANT_SERVE_ALLOWED_HOSTS`) and writes from another site's pages are refused.
"""


def create_app(settings: Settings, *, assistant: Assistant | None = None) -> FastAPI:
    """The API over `assistant`, or over one `Assistant.open(settings)` made at start-up and
    closed at shutdown. `settings` give the API's own limits and keys.

    Serve it from one process (one uvicorn worker): the assistant holds the embedded
    store's folder and the embedded model, and shares them across requests. With tracing on
    (the assistant's `tracer_provider`, else `ASSISTANT_OTLP_ENDPOINT`), every request is a
    span above its turn's.
    """
    tracer_provider = (
        assistant.tracer_provider if assistant is not None else open_tracer_provider(settings)
    )
    rate_limits = RateLimits(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        warn_if_open(settings)
        opened = (
            assistant
            if assistant is not None
            else await anyio.to_thread.run_sync(
                partial(Assistant.open, settings, tracer_provider=tracer_provider)
            )
        )
        runtime = ApiRuntime(
            opened, settings, exclusive=opened.needs_exclusive_use, rate_limits=rate_limits
        )
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(warm_up, runtime)
                # Lifespan state: each request finds the runtime in `request.state`.
                yield {"runtime": runtime}
                tasks.cancel_scope.cancel()
            await runtime.drain()
        finally:
            if assistant is None:  # opened here, so closed here; a given one is the caller's
                opened.close()
                if tracer_provider is not None:
                    getattr(tracer_provider, "shutdown", lambda: None)()

    app = FastAPI(
        title="hybrid-assistant",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.serve_max_body_bytes,
        upload_limit=settings.serve_max_upload_bytes,
        upload_prefix=documents.UPLOAD_PATH,
    )
    # Added last, so it runs first: a request for another host or a cross-site write is
    # refused before its body is read.
    app.add_middleware(
        SameOriginMiddleware,
        allowed_hosts=settings.serve_allowed_hosts,
        unchecked_paths=health.PROBE_PATHS,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(chat.router)
    app.include_router(completions.router)
    app.include_router(threads.router)
    app.include_router(triage.router)
    app.include_router(documents.router)
    app.include_router(page.router)
    if tracer_provider is not None:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        # Probes come every few seconds from an orchestrator: traces of them are noise.
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=tracer_provider,
            excluded_urls="/healthz,/readyz",
            exclude_spans=["receive", "send"],
        )
    return app

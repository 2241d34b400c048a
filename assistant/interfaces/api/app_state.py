"""What the routes share: the one `Assistant` of the process, and how to call it safely."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated, Any, TypeVar, cast

import anyio.to_thread
from fastapi import Depends, Request

from assistant.interfaces.api.client_address import Network, trusted_networks
from assistant.interfaces.api.problems import ApiError
from assistant.interfaces.api.rate_limits import RateLimits
from assistant.service import Assistant
from assistant.settings import Settings

R = TypeVar("R")


@dataclass
class ApiRuntime:
    """The assistant behind the API, opened once per process by the app's lifespan."""

    assistant: Assistant
    settings: Settings = field(repr=False)
    exclusive: bool = True
    model_ready: asyncio.Event = field(default_factory=asyncio.Event)
    model_error: str | None = None
    # Made with the app (`create_app`), so an unusable storage is an error before serving.
    rate_limits: RateLimits = field(kw_only=True)
    # What the last readiness check that failed said, logged once rather than at every probe.
    readiness_logged: str | None = None
    trusted_proxies: list[Network] = field(init=False)
    # A threading lock, taken inside the worker thread: it is held for exactly as long as the
    # work runs, even when the client that asked has gone away.
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Turns that outlive the request that started them (a client gone mid-stream): held here
    # so the event loop does not drop them before they finish.
    _background: set[asyncio.Future[Any]] = field(default_factory=set)

    async def call(self, fn: Callable[[], R]) -> R:
        """Run blocking `fn` in a worker thread (never on the event loop), exclusively when
        the assistant's parts require it (`Assistant.needs_exclusive_use`)."""
        return await anyio.to_thread.run_sync(partial(self._locked, fn))

    def spawn(self, work: Awaitable[R]) -> asyncio.Future[R]:
        """Start `work` now, to run to its end whether or not anyone awaits it."""
        future = asyncio.ensure_future(work)
        self._background.add(future)
        future.add_done_callback(self._background.discard)
        return future

    async def drain(self) -> None:
        """Wait for the turns still running in the background (before closing the assistant)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def __post_init__(self) -> None:
        self.trusted_proxies = trusted_networks(self.settings.serve_trusted_proxies)

    def _locked(self, fn: Callable[[], R]) -> R:
        guard: AbstractContextManager[Any] = self._lock if self.exclusive else nullcontext()
        with guard:
            return fn()

    async def require_thread(self, thread_id: str, tenant: str) -> None:
        """404 unless the tenant has a thread `thread_id`, before a stream starts (whose status
        is sent first). Another tenant's thread of that name is another thread: ids reveal
        nothing. Only a courtesy: the assistant checks the owner again under the thread's
        lock, where it counts."""
        # The checkpointer has its own lock; reading a thread needs no exclusive use.
        read = partial(self.assistant.thread_values, thread_id, tenant=tenant)
        if not await anyio.to_thread.run_sync(read):
            raise ApiError(404, f"no thread {thread_id!r}")


def get_runtime(request: Request) -> ApiRuntime:
    """The runtime the lifespan put in the request state."""
    return cast(ApiRuntime, request.state.runtime)


Runtime = Annotated[ApiRuntime, Depends(get_runtime)]

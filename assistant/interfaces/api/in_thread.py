"""The HTTP API served from a thread of this process on a free loopback port.

For what measures or drives the API over real HTTP beside the assistant it serves (the
benchmarks' time to first token, a notebook): the same app `assistant serve` runs, without a
second process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from assistant.errors import ModelUnavailableError
from assistant.interfaces.api.app import create_app
from assistant.llm.vllm_launcher import free_port
from assistant.service import Assistant
from assistant.settings import Settings


@contextmanager
def serving(
    settings: Settings, assistant: Assistant, *, start_timeout_s: float = 300
) -> Iterator[str]:
    """The API over `assistant` on a local port, as its base URL, until the block ends."""
    port = free_port()
    app = create_app(settings, assistant=assistant)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s  # start-up warms the model up
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise ModelUnavailableError(f"the API did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)

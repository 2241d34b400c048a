"""A model server that plays vLLM's Chat Completions badly on purpose: each request's fate is
decided by a test (answer, fail with a status, or stall), so retries and timeouts are real."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from assistant.llm.vllm_launcher import free_port


@dataclass(frozen=True)
class Reply:
    content: str = ""
    status: int = 200
    delay_s: float = 0.0


@dataclass
class FakeServer:
    decide: Callable[[str], Reply]
    calls: Counter[str] = field(default_factory=Counter)
    url: str = ""
    models: list[str] = field(default_factory=list)
    """What `/v1/models` lists (vLLM: the served base name, then each `--lora-modules` name)."""

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        async def models() -> JSONResponse:
            listed = [{"id": name, "object": "model"} for name in self.models]
            return JSONResponse({"object": "list", "data": listed})

        @app.post("/v1/chat/completions")
        async def complete(request: Request) -> JSONResponse:
            body: dict[str, Any] = await request.json()
            prompt = str(body["messages"][-1]["content"])
            self.calls[prompt] += 1
            reply = self.decide(prompt)
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
            if reply.status != 200:
                return JSONResponse({"error": {"message": "boom"}}, status_code=reply.status)
            if body.get("stream"):
                return StreamingResponse(
                    stream_chunks(body["model"], reply.content), media_type="text/event-stream"
                )
            return JSONResponse(
                {
                    "id": "cmpl-1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": reply.content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }
            )

        return app


def stream_chunks(model: str, content: str) -> Iterator[str]:
    """`content` as vLLM streams it: a chunk per word, the last with the finish reason."""

    def chunk(delta: dict[str, str], finish: str | None = None) -> str:
        body = {
            "id": "cmpl-1",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for word in re.findall(r"\S+\s*|\s+", content):
        yield chunk({"content": word})
    yield chunk({}, finish="stop")
    yield "data: [DONE]\n\n"


@contextmanager
def running(fake: FakeServer) -> Iterator[FakeServer]:
    port = free_port()
    config = uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fake model server did not start")
        time.sleep(0.02)
    fake.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)

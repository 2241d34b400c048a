"""The server backend against a stub OpenAI-compatible server: what is sent, what errors mean."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from assistant.errors import ModelUnavailableError
from assistant.llm.errors import UnknownModelError
from assistant.llm.gateway import choose, complete, stream
from assistant.llm.openai_compatible import build_openai_chat_model
from assistant.settings import Settings

ASK = [HumanMessage("Route this ticket.")]


class StubServer(ThreadingHTTPServer):
    """Answers /v1/chat/completions like vLLM; the model `missing` is not served."""

    requests: list[dict[str, Any]]


class Handler(BaseHTTPRequestHandler):
    server: StubServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        if body["model"] == "missing":
            error = {"message": "The model `missing` does not exist.", "code": 404}
            return self._send(404, "application/json", json.dumps({"error": error}))
        constraint = body.get("structured_outputs", {})
        content = constraint["choice"][-1] if "choice" in constraint else "[2]"
        if not body.get("stream"):
            message = {"role": "assistant", "content": content}
            choice = {"index": 0, "message": message, "finish_reason": "stop"}
            return self._send(200, "application/json", json.dumps(_completion(choices=[choice])))
        events = [
            _completion(object="chat.completion.chunk", choices=[_delta(piece)])
            for piece in ("Hel", "lo ", "there")
        ]
        sse = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        return self._send(200, "text/event-stream", sse)

    def _send(self, status: int, content_type: str, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _completion(**fields: Any) -> dict[str, Any]:
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "m", **fields}


def _delta(text: str) -> dict[str, Any]:
    return {"index": 0, "delta": {"content": text}, "finish_reason": None}


@pytest.fixture
def server() -> Iterator[StubServer]:
    stub = StubServer(("127.0.0.1", 0), Handler)
    stub.requests = []
    thread = threading.Thread(target=stub.serve_forever, daemon=True)
    thread.start()
    yield stub
    stub.shutdown()
    stub.server_close()


def chat_model(settings: Settings, base_url: str, **update: Any) -> ChatOpenAI:
    update = {"backend": "openai", "base_url": base_url, "max_retries": 0, **update}
    return build_openai_chat_model(settings.model_copy(update=update))


def url(server: StubServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/v1"


def test_choose_sends_vllm_structured_choice_and_the_adapter_as_model(
    settings: Settings, server: StubServer
) -> None:
    picked = choose(chat_model(settings, url(server)), ASK, ["a", "b"], adapter="triage")
    assert picked == "b"
    sent = server.requests[-1]
    assert sent["structured_outputs"] == {"choice": ["a", "b"]}
    assert "guided_choice" not in sent
    assert sent["model"] == "triage"


def test_complete_sends_the_regex_and_the_base_model_name(
    settings: Settings, server: StubServer
) -> None:
    assert complete(chat_model(settings, url(server)), ASK, regex=r"\[[1-3]\]") == "[2]"
    sent = server.requests[-1]
    assert sent["structured_outputs"] == {"regex": r"\[[1-3]\]"}
    assert sent["model"] == settings.model_name


def test_stream_yields_the_servers_pieces(settings: Settings, server: StubServer) -> None:
    assert list(stream(chat_model(settings, url(server)), ASK)) == ["Hel", "lo ", "there"]


def test_an_adapter_the_server_does_not_serve_is_a_clear_error(
    settings: Settings, server: StubServer
) -> None:
    with pytest.raises(UnknownModelError, match=r"'missing'.*/v1/models"):
        complete(chat_model(settings, url(server)), ASK, adapter="missing")


def test_a_server_that_is_down_is_reported_quickly_with_its_url(settings: Settings) -> None:
    model = chat_model(settings, "http://127.0.0.1:9/v1")
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError, match=r"http://127\.0\.0\.1:9/v1"):
        complete(model, ASK)
    with pytest.raises(ModelUnavailableError, match=r"http://127\.0\.0\.1:9/v1"):
        list(stream(model, ASK))
    assert time.monotonic() - started < 5

"""The API in front of a model server that stalls or fails: the customer gets a 503 with the
reason within the configured timeout (and its bounded retries), never a hung request.

(A server that is not running at all is in test_api.py: 503 naming the address.)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fake_openai import FakeServer, Reply, running
from fastapi.testclient import TestClient

from assistant.interfaces.api.app import create_app
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.gateway import build_chat_model
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer

KEY = "key-acme"
AUTH = {"Authorization": f"Bearer {KEY}"}
TIMEOUT_S = 1.0
RETRIES = 1  # two attempts in all
STALL_S = 20.0  # far longer than the two attempts and the backoff between them
# Two timed-out attempts, the SDK's backoff between them (< 1 s), and the rest of the turn.
BOUND_S = (RETRIES + 1) * TIMEOUT_S + 4.0


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    settings.backend = "openai"
    settings.request_timeout_s = TIMEOUT_S
    settings.max_retries = RETRIES
    settings.serve_api_keys = {KEY: "acme"}
    settings.adapters_dir = tmp_path / "no-adapters"  # the first model call is the decide step
    return settings


@contextmanager
def serve(settings: Settings, store: KnowledgeStore, fake: FakeServer) -> Iterator[TestClient]:
    settings.base_url = fake.url
    assistant = Assistant(
        settings,
        store=store,
        model=build_chat_model(settings),
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )
    with TestClient(create_app(settings, assistant=assistant)) as client:
        yield client
    assistant.checkpointer.conn.close()  # type: ignore[attr-defined]


@pytest.fixture
def stalled() -> Iterator[FakeServer]:
    with running(FakeServer(lambda prompt: Reply("search", delay_s=STALL_S))) as fake:
        yield fake


@pytest.fixture
def failing() -> Iterator[FakeServer]:
    with running(FakeServer(lambda prompt: Reply(status=503))) as fake:
        yield fake


def ask(client: TestClient) -> tuple[int, dict[str, str], float]:
    started = time.monotonic()
    response = client.post("/v1/chat", json={"message": "How do refunds work?"}, headers=AUTH)
    return response.status_code, response.json()["error"], time.monotonic() - started


def test_a_stalled_model_server_gets_a_503_with_the_reason_within_the_timeout(
    settings: Settings, store: KnowledgeStore, stalled: FakeServer
) -> None:
    with serve(settings, store, stalled) as client:
        status, error, took = ask(client)
        assert status == 503, error
        assert error["type"] == "model_unavailable"
        assert stalled.url in error["message"], error
        assert f"no answer within {TIMEOUT_S} s (ASSISTANT_REQUEST_TIMEOUT_S)" in error["message"]
        assert took < BOUND_S, f"{took:.1f} s for a {TIMEOUT_S} s timeout"
        # The retries were bounded: one call, then RETRIES more, then the answer.
        assert sum(stalled.calls.values()) == RETRIES + 1


def test_a_model_server_answering_503_gets_a_503_with_the_reason(
    settings: Settings, store: KnowledgeStore, failing: FakeServer
) -> None:
    with serve(settings, store, failing) as client:
        status, error, took = ask(client)
        assert status == 503, error
        assert error["type"] == "model_unavailable"
        assert failing.url in error["message"] and "503" in error["message"], error
        assert took < BOUND_S
        assert sum(failing.calls.values()) == RETRIES + 1

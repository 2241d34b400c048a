"""Documents ingested from the server's disk (as `assistant ingest FOLDER` does) are cited by
their file's name: no answer of the API (JSON, stream, OpenAI-compatible) nor any MCP tool result
carries the folder they were read from (issue 33, row 9)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from doubles import ScriptedChatModel
from fastapi.testclient import TestClient
from mcp import Client
from mcp.server.mcpserver import MCPServer

from assistant.ingestion.ingest import ingest_documents
from assistant.ingestion.loaders import LoadError, load_documents
from assistant.interfaces.api.app import create_app
from assistant.interfaces.mcp.server import build_mcp_server
from assistant.knowledge.store import KnowledgeStore
from assistant.schemas import Document
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer

TENANT = "acme"
KEY = {"X-API-Key": "key-acme"}
DECIDE_MARK = "What should the support assistant do"
GENERATE_MARK = "Answer the customer's question"
QUESTION = "How long does a refund take to reach my card?"


def respond(prompt: str) -> str:
    if DECIDE_MARK in prompt:
        return "search"
    if GENERATE_MARK in prompt:
        return "Refunds take five business days [1]. Parcels take two days [2]."
    return "Could you tell me more?"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """The team's knowledge base where the server reads it: deep in its file system."""
    root = tmp_path / "srv" / "support-team" / "kb"
    (root / "guides").mkdir(parents=True)
    (root / "guides" / "refunds.md").write_text(
        "Refunds are paid back to the original card within five business days.\n", "utf-8"
    )
    record = {"doc_id": "parcels", "text": "Parcels take two days to arrive after shipping."}
    (root / "faq.jsonl").write_text(json.dumps(record) + "\n", "utf-8")
    return root


@pytest.fixture
def assistant(
    settings: Settings, store: KnowledgeStore, folder: Path, tmp_path: Path
) -> Iterator[Assistant]:
    settings.tenant = TENANT
    settings.serve_api_keys = {"key-acme": TENANT}
    settings.adapters_dir = tmp_path / "no-adapters"
    settings.answer_mode = "generative"
    loaded = list(load_documents(folder, TENANT))
    docs = [d for d in loaded if isinstance(d, Document)]
    assert len(docs) == 2 and not [e for e in loaded if isinstance(e, LoadError)]
    assert all(str(folder) in d.source for d in docs)  # the path is stored with the chunks
    ingest_documents(docs, store, tenant=TENANT, max_chars=settings.chunk_max_chars)
    opened = Assistant(
        settings,
        store=store,
        model=ScriptedChatModel(respond=respond),
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )
    yield opened
    opened.checkpointer.conn.close()


@pytest.fixture
def client(settings: Settings, assistant: Assistant) -> Iterator[TestClient]:
    with TestClient(create_app(settings, assistant=assistant)) as test_client:
        yield test_client


def no_server_path(text: str, folder: Path) -> None:
    for revealing in (str(folder), "support-team", str(folder.parents[2])):
        assert revealing not in text


def test_api_answers_cite_the_files_name_never_the_servers_folder(
    client: TestClient, folder: Path
) -> None:
    response = client.post("/v1/chat", json={"message": QUESTION}, headers=KEY)
    assert response.status_code == 200, response.text
    citations = response.json()["citations"]
    assert sorted(c["url"] for c in citations) == ["faq.jsonl:1", "refunds.md"]
    no_server_path(response.text, folder)

    streamed = client.post(
        "/v1/chat", json={"message": QUESTION}, headers={**KEY, "Accept": "text/event-stream"}
    )
    assert streamed.status_code == 200 and "refunds.md" in streamed.text
    no_server_path(streamed.text, folder)

    for stream in (False, True):
        completion = client.post(
            "/v1/chat/completions",
            json={
                "model": "assistant",
                "messages": [{"role": "user", "content": QUESTION}],
                "stream": stream,
            },
            headers=KEY,
        )
        assert completion.status_code == 200, completion.text
        assert "refunds.md" in completion.text
        no_server_path(completion.text, folder)


def call(server: MCPServer, tool: str, arguments: dict[str, Any]) -> str:
    async def go() -> str:
        async with Client(server) as client:
            result = await client.call_tool(tool, arguments)
            assert not result.is_error, result.content
            return json.dumps(result.structured_content)

    return anyio.run(go)


def test_mcp_answers_and_search_results_carry_no_server_path(
    assistant: Assistant, folder: Path
) -> None:
    server = build_mcp_server(assistant)
    answered = call(server, "ask", {"question": QUESTION})
    assert "refunds.md" in answered
    no_server_path(answered, folder)
    found = json.loads(call(server, "search_knowledge_base", {"query": "refund", "k": 3}))
    assert {c["source"] for c in found["chunks"]} <= {"refunds.md", "faq.jsonl:1"}
    no_server_path(json.dumps(found), folder)

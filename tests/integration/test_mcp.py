"""The MCP server as an MCP client sees it: the SDK's own `Client`, connected in process, over
a real store, graph and checkpointer (the scripted model writes answers and triage)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from doubles import ScriptedChatModel
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult

from assistant.ingestion.ingest import ingest_documents
from assistant.interfaces.mcp.http_app import build_http_app
from assistant.interfaces.mcp.server import build_mcp_server, request_tenant
from assistant.knowledge.store import KnowledgeStore
from assistant.schemas import Document
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer

DECIDE_MARK = "What should the support assistant do"
GENERATE_MARK = "Answer the customer's question"
TRIAGE_REPLY = '{"category": "lost_or_stolen_card", "priority": "urgent", "needs_human": true}'
REFUNDS = "Refunds are paid back to the original card within five business days."
TEAM_POLICY = """\
name: travel-desk
categories:
  flights: {priority: high, needs_human: true, reason: account_action}
  small_talk: {priority: low, needs_human: false}
"""
FLIGHTS_REPLY = '{"category": "flights", "priority": "high", "needs_human": true}'


def respond(prompt: str) -> str:
    if DECIDE_MARK in prompt:
        return "search"
    if GENERATE_MARK in prompt:
        return "Refunds take five business days [1]."
    if "stolen" in prompt:
        return TRIAGE_REPLY
    if "flight" in prompt:
        return FLIGHTS_REPLY  # a label of the team's policy, not of BANKING77
    return "Could you tell me more?"


@pytest.fixture
def assistant(settings: Settings, store: KnowledgeStore, tmp_path: Path) -> Iterator[Assistant]:
    opened = open_assistant(settings, store, tmp_path)
    yield opened
    opened.checkpointer.conn.close()


def open_assistant(settings: Settings, store: KnowledgeStore, tmp_path: Path) -> Assistant:
    settings.tenant = "acme"  # the server's tenant over stdio (and in process)
    settings.adapters_dir = tmp_path / "no-adapters"
    settings.triage_engine = "adapter"  # triage reads the script's replies
    settings.answer_mode = "generative"
    settings.serve_api_keys = {"key-acme": "acme", "key-globex": "globex"}
    for tenant, text in (("acme", REFUNDS), ("globex", "Globex refunds take a month.")):
        doc = Document(doc_id="refunds.md", title="Refunds", text=text, tenant=tenant)
        ingest_documents([doc], store, tenant=tenant, max_chars=settings.chunk_max_chars)
    return Assistant(
        settings,
        store=store,
        model=ScriptedChatModel(respond=respond),
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )


def call(server: MCPServer, tool: str, arguments: dict[str, Any]) -> CallToolResult:
    async def go() -> CallToolResult:
        async with Client(server) as client:
            return await client.call_tool(tool, arguments)

    return anyio.run(go)


def test_the_server_lists_its_three_tools(assistant: Assistant) -> None:
    async def names() -> set[str]:
        async with Client(build_mcp_server(assistant)) as client:
            return {tool.name for tool in (await client.list_tools()).tools}

    assert anyio.run(names) == {"search_knowledge_base", "ask", "triage"}


def test_search_returns_passages_of_the_servers_tenant_only(assistant: Assistant) -> None:
    result = call(build_mcp_server(assistant), "search_knowledge_base", {"query": "refund", "k": 3})
    assert not result.is_error, result.content
    chunks = (result.structured_content or {})["chunks"]
    assert [(c["tenant"], c["text"]) for c in chunks] == [("acme", REFUNDS)]


def test_ask_answers_with_citations_and_a_thread_to_continue(assistant: Assistant) -> None:
    server = build_mcp_server(assistant)
    result = call(server, "ask", {"question": "How long does a refund take?"})
    assert not result.is_error, result.content
    answer = result.structured_content or {}
    assert answer["text"] == "Refunds take five business days [1]."
    assert [c["doc_id"] for c in answer["citations"]] == ["refunds.md"]
    thread = assistant.thread_values(answer["thread_id"])
    assert thread["tenant"] == "acme"


def test_triage_reads_a_ticket(assistant: Assistant) -> None:
    result = call(build_mcp_server(assistant), "triage", {"text": "My card was stolen!"})
    assert not result.is_error, result.content
    assert result.structured_content == {
        "category": "lost_or_stolen_card",
        "priority": "urgent",
        "needs_human": True,
    }


def test_triage_reads_with_the_teams_policy_as_the_api_does(
    settings: Settings, store: KnowledgeStore, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(TEAM_POLICY, encoding="utf-8")
    settings.triage_policy = policy
    opened = open_assistant(settings, store, tmp_path)
    try:
        result = call(build_mcp_server(opened), "triage", {"text": "Change my flight, please"})
        assert not result.is_error, result.content
        assert result.structured_content == json.loads(FLIGHTS_REPLY)
        # The assistant's own engine, the one `/v1/triage` calls, reads it the same.
        assert opened.triage("Change my flight, please").model_dump() == result.structured_content
        # Under the shipped BANKING77 policy the same reply is refused: the policy is the team's.
        shipped = opened.sharing(settings.model_copy(update={"triage_policy": None}))
        refused = call(build_mcp_server(shipped), "triage", {"text": "Change my flight, please"})
        assert refused.is_error
        assert "flights" in refused.content[0].text  # type: ignore[union-attr]
    finally:
        opened.checkpointer.conn.close()


def test_bad_input_is_a_tool_error_with_a_clear_message(assistant: Assistant) -> None:
    result = call(build_mcp_server(assistant), "ask", {"question": "   "})
    assert result.is_error
    assert "the question is empty" in result.content[0].text  # type: ignore[union-attr]


def call_over_http(
    server: MCPServer, tool: str, arguments: dict[str, Any], headers: dict[str, str]
) -> CallToolResult:
    """The tool called over streamable HTTP: the SDK's client and its server app in process."""

    async def go() -> CallToolResult:
        app = server.streamable_http_app()
        async with server.session_manager.run():
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport, headers=headers) as http:
                # The server checks the Host header against its address (DNS rebinding).
                url = "http://127.0.0.1:8090/mcp"
                async with Client(streamable_http_client(url, http_client=http)) as client:
                    return await client.call_tool(tool, arguments)

    return anyio.run(go)


def test_over_streamable_http_each_key_searches_its_own_tenant(assistant: Assistant) -> None:
    server = build_mcp_server(assistant)
    arguments = {"query": "refund"}
    globex = call_over_http(server, "search_knowledge_base", arguments, {"X-API-Key": "key-globex"})
    assert not globex.is_error, globex.content
    chunks = (globex.structured_content or {})["chunks"]
    assert [c["tenant"] for c in chunks] == ["globex"]

    refused = call_over_http(server, "ask", {"question": "Refunds?"}, {"X-API-Key": "nope"})
    assert refused.is_error
    assert "the API key is not valid" in refused.content[0].text  # type: ignore[union-attr]


def test_the_tenant_of_a_call_comes_from_its_key_never_from_the_caller(
    assistant: Assistant,
) -> None:
    assert request_tenant(assistant, None) == "acme"  # stdio: the server's own
    assert request_tenant(assistant, {"authorization": "Bearer key-globex"}) == "globex"
    assert request_tenant(assistant, {"x-api-key": "key-acme"}) == "acme"
    with pytest.raises(ToolError, match="not valid"):
        request_tenant(assistant, {"x-api-key": "nope"})
    with pytest.raises(ToolError, match="missing API key"):
        request_tenant(assistant, {})


# --- streamable HTTP behind the API's guards (`assistant mcp --transport http`) ---------------

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    },
}
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def post_over_http(
    assistant: Assistant, requests: list[dict[str, str]], url: str = "http://127.0.0.1:8090/mcp"
) -> list[httpx2.Response]:
    """Each of `requests` (extra headers) posted as an initialize to the app
    `assistant mcp --transport http` serves, in order."""
    server = build_mcp_server(assistant)

    async def go() -> list[httpx2.Response]:
        app = build_http_app(server, assistant.settings)
        async with server.session_manager.run():
            transport = httpx2.ASGITransport(app=app)
            async with httpx2.AsyncClient(transport=transport) as http:
                return [
                    await http.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **extra})
                    for extra in requests
                ]

    return anyio.run(go)


def test_over_http_wrong_keys_get_401_then_429_as_in_the_api(assistant: Assistant) -> None:
    responses = post_over_http(
        assistant, [{"X-API-Key": f"guess-{n}"} for n in range(6)] + [{"X-API-Key": "key-acme"}]
    )
    assert [r.status_code for r in responses] == [401] * 5 + [429, 429]
    assert "failed API keys" in responses[-1].json()["error"]["message"]
    assert post_over_http(assistant, [{"X-API-Key": "key-acme"}])[0].status_code == 200


def test_over_http_a_key_over_its_rate_limit_gets_429(assistant: Assistant) -> None:
    assistant.settings.serve_rate_limit = "2/minute"
    responses = post_over_http(assistant, [{"Authorization": "Bearer key-acme"}] * 3)
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert "retry-after" in responses[-1].headers


def test_over_http_another_host_or_a_cross_site_post_is_refused(assistant: Assistant) -> None:
    key = {"X-API-Key": "key-acme"}
    rebound, cross_site = post_over_http(
        assistant,
        [{**key, "Host": "evil.example"}, {**key, "Origin": "http://evil.example"}],
    )
    assert rebound.status_code == 400 and rebound.json()["error"]["type"] == "invalid_host"
    assert cross_site.status_code == 403
    assert cross_site.json()["error"]["type"] == "cross_site_request"


def test_over_http_the_sdk_client_with_a_key_still_calls_tools(assistant: Assistant) -> None:
    server = build_mcp_server(assistant)

    async def go() -> CallToolResult:
        app = build_http_app(server, assistant.settings)
        async with server.session_manager.run():
            transport = httpx2.ASGITransport(app=app)
            headers = {"X-API-Key": "key-globex"}
            async with httpx2.AsyncClient(transport=transport, headers=headers) as http:
                url = "http://localhost:8090/mcp"
                async with Client(streamable_http_client(url, http_client=http)) as client:
                    return await client.call_tool("search_knowledge_base", {"query": "refund"})

    result = anyio.run(go)
    assert not result.is_error, result.content
    assert [c["tenant"] for c in (result.structured_content or {})["chunks"]] == ["globex"]

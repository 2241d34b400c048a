"""An experiment on live traffic end to end: the API on a loopback port and the MCP server over
one assistant, a real store and checkpointer; ratings through `POST /v1/feedback`; then
`assistant report` on the log the run wrote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from doubles import ScriptedChatModel
from mcp import Client
from typer.testing import CliRunner

from assistant.evaluation.experiment_report import experiment_report
from assistant.graph.experiment import load_experiment
from assistant.ingestion.ingest import ingest_documents
from assistant.interaction_log import read_log
from assistant.interfaces.api.in_thread import serving
from assistant.interfaces.cli.main import app
from assistant.interfaces.mcp.server import build_mcp_server
from assistant.knowledge.store import KnowledgeStore
from assistant.schemas import Document
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer

KEY = {"Authorization": "Bearer key-acme"}
DECIDE_MARK = "What should the support assistant do"
GENERATE_MARK = "Answer the customer's question"
DRAFTED = "Refunds take five business days [1]."
REFUNDS = "Refunds are paid back to the original card within five business days."
EXPERIMENT = """\
name: answer-mode
variants:
  - {name: drafted, weight: 1, choices: {answer_mode: generative}}
  - {name: quoted, weight: 1, choices: {answer_mode: extractive}}
"""


def respond(prompt: str) -> str:
    if DECIDE_MARK in prompt:
        return "search"
    if GENERATE_MARK in prompt:
        return DRAFTED
    return "Could you tell me more?"


@pytest.fixture
def assistant(settings: Settings, store: KnowledgeStore, tmp_path: Path) -> Iterator[Assistant]:
    settings.tenant = "acme"
    settings.adapters_dir = tmp_path / "no-adapters"
    settings.serve_api_keys = {"key-acme": "acme"}
    settings.experiment = tmp_path / "experiment.yaml"
    settings.experiment.write_text(EXPERIMENT, encoding="utf-8")
    doc = Document(doc_id="refunds.md", title="Refunds", text=REFUNDS, tenant="acme")
    ingest_documents([doc], store, tenant="acme", max_chars=settings.chunk_max_chars)
    opened = Assistant(
        settings,
        store=store,
        model=ScriptedChatModel(respond=respond),
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )
    yield opened
    opened.checkpointer.conn.close()


def mcp_ask(assistant: Assistant, arguments: dict[str, Any]) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        async with Client(build_mcp_server(assistant)) as client:
            result = await client.call_tool("ask", arguments)
            assert not result.is_error, result.content
            return result.structured_content or {}

    return anyio.run(go)


def test_a_thread_has_one_variant_through_the_api_and_mcp_and_the_report_shows_both(
    assistant: Assistant, settings: Settings, tmp_path: Path
) -> None:
    assert settings.experiment is not None
    experiment = load_experiment(settings.experiment)
    threads = [f"customer-{i}" for i in range(12)]
    expected = {thread: experiment.assign(thread).name for thread in threads}
    assert set(expected.values()) == {"drafted", "quoted"}  # both arms among the threads

    with serving(settings, assistant) as base, httpx.Client(base_url=base, timeout=60) as http:
        for i, thread in enumerate(threads):
            body = {"message": "How long does a refund take?", "thread_id": thread}
            answer = http.post("/v1/chat", json=body, headers=KEY).json()
            assert answer["variant"] == expected[thread]
            # The arm's choices ran: the drafted arm's text is the model's, the quoted arm's
            # the passage's own sentence.
            assert (answer["text"] == DRAFTED) == (expected[thread] == "drafted"), answer
            rating = {"thread_id": thread, "rating": "up" if i % 3 else "down"}
            assert http.post("/v1/feedback", json=rating, headers=KEY).status_code == 204
        # The same thread's next turn through MCP stays in its variant.
        for thread in threads[:4]:
            again = mcp_ask(assistant, {"question": "And to a card?", "thread_id": thread})
            assert again["variant"] == expected[thread]

    rows = read_log(settings.interaction_log_path, strict=True).rows
    turns = [r.record for r in rows if r.record.kind == "turn"]
    assert len(turns) == 16
    assert all(t.variant == expected[t.thread_id or ""] for t in turns)
    ratings = [r.record for r in rows if r.record.kind == "feedback"]
    assert [r.variant for r in ratings] == [expected[t] for t in threads]

    report = experiment_report(rows)
    arms = {arm.variant: arm for arm in report.arms}
    assert set(arms) == {"drafted", "quoted"}
    per_arm = {name: sum(v == name for v in expected.values()) for name in arms}
    for name, arm in arms.items():
        assert arm.threads == per_arm[name]
        assert arm.rated == per_arm[name]
        down = sum(expected[t] == name and i % 3 == 0 for i, t in enumerate(threads))
        assert arm.rates["thumbs_down"].count == down
        assert arm.latency_p50 is not None
    printed = CliRunner().invoke(
        app, ["report", "--log", str(settings.interaction_log_path)], env={"COLUMNS": "200"}
    )
    assert printed.exit_code == 0, printed.output
    assert "drafted (control)" in printed.output and "quoted" in printed.output

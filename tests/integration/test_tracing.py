"""OpenTelemetry spans of a turn, read back with the SDK's in-memory exporter: a real store,
graph and checkpointer, the scripted model (its calls are spanned like any chat model's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from doubles import ScriptedChatModel
from fastapi.testclient import TestClient
from langchain_core.messages import HumanMessage
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from assistant.ingestion.ingest import ingest_documents
from assistant.interfaces.api.app import create_app
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.embedded import EmbeddedChatModel
from assistant.schemas import Document, Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer
from assistant.tracing import ModelCallSpans, open_tracer_provider

DECIDE_MARK = "What should the support assistant do"
GENERATE_MARK = "Answer the customer's question"
KEY = "key-acme"


def respond(prompt: str) -> str:
    if DECIDE_MARK in prompt:
        return "search"
    if GENERATE_MARK in prompt:
        return "Refunds take five business days [1]."
    return "Could you tell me more?"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def assistant(
    settings: Settings, store: KnowledgeStore, exporter: InMemorySpanExporter, tmp_path: Path
) -> Iterator[Assistant]:
    settings.adapters_dir = tmp_path / "no-adapters"
    settings.answer_mode = "generative"
    settings.router = "model"
    settings.serve_api_keys = {KEY: "acme"}
    refunds = Document(
        doc_id="refunds.md",
        tenant="acme",
        title="Refunds",
        text="Refunds are paid back to the original card within five business days.",
        source="refunds.md",
    )
    ingest_documents([refunds], store, tenant="acme", max_chars=settings.chunk_max_chars)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    opened = Assistant(
        settings,
        store=store,
        model=ScriptedChatModel(respond=respond),
        checkpointer=open_checkpointer(settings.checkpoint_path),
        tracer_provider=provider,
    )
    yield opened
    opened.checkpointer.conn.close()


def tree(spans: tuple[ReadableSpan, ...]) -> dict[str, list[str]]:
    """Each span's name -> its children's names, in start order."""
    by_id = {span.context.span_id: span for span in spans}
    children: dict[str, list[str]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = by_id.get(span.parent.span_id) if span.parent else None
        children.setdefault(parent.name if parent else "", []).append(span.name)
    return children


def named(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    return next(span for span in spans if span.name == name)


def test_a_turn_is_a_span_tree_of_nodes_model_calls_and_a_search_with_tenant_and_thread(
    assistant: Assistant, exporter: InMemorySpanExporter
) -> None:
    answer = assistant.ask("How long does a refund take?", thread_id="t-1", tenant="acme")
    assert answer.outcome is Outcome.ANSWERED

    spans = exporter.get_finished_spans()
    children = tree(spans)
    assert children[""] == ["turn"]
    assert children["turn"] == [
        "node.triage",
        "node.decide",
        "node.retrieve",
        "node.grade",
        "node.generate",
        "node.cite",
    ]
    assert children["node.decide"] == ["model.call"]
    assert children["node.retrieve"] == ["search"]
    assert children["node.generate"] == ["model.call"]
    turn = named(spans, "turn")
    assert turn.attributes is not None
    assert turn.attributes["assistant.thread_id"] == "t-1"
    assert turn.attributes["assistant.tenant"] == "acme"
    assert turn.attributes["assistant.outcome"] == "answered"
    search = named(spans, "search")
    assert dict(search.attributes or {}) == {
        "assistant.search.mode": "hybrid",
        "assistant.search.k": 5,
        "assistant.tenant": "acme",
        "assistant.search.results": 1,
    }
    model_call = named(spans, "model.call")
    assert (model_call.attributes or {})["assistant.adapter"] == "base"


def test_an_api_request_is_the_parent_of_its_turn(
    assistant: Assistant, exporter: InMemorySpanExporter
) -> None:
    with TestClient(create_app(assistant.settings, assistant=assistant)) as client:
        response = client.post(
            "/v1/chat",
            json={"message": "How long does a refund take?", "thread_id": "t-2"},
            headers={"X-API-Key": KEY},
        )
    assert response.status_code == 200, response.text

    spans = exporter.get_finished_spans()
    assert tree(spans)["POST /v1/chat"] == ["turn"]
    assert (named(spans, "turn").attributes or {})["assistant.thread_id"] == "t-2"


def test_tracing_is_off_without_an_endpoint_and_exports_over_otlp_with_one(
    settings: Settings,
) -> None:
    assert open_tracer_provider(settings) is None
    settings.otlp_endpoint = "http://127.0.0.1:4318/v1/traces"
    provider = open_tracer_provider(settings)
    assert isinstance(provider, TracerProvider)
    assert provider.resource.attributes["service.name"] == "hybrid-assistant"
    provider.shutdown()


@pytest.mark.slow
def test_a_call_of_the_packaged_model_is_spanned_with_its_adapter_and_tokens(
    chat_model: EmbeddedChatModel,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    spans = ModelCallSpans(provider.get_tracer("test"))
    assert "triage" in chat_model.usable_adapters()

    chat_model.invoke(
        [HumanMessage("My card was stolen")],
        adapter="triage",
        max_new_tokens=4,
        config={"callbacks": [spans]},
    )

    (span,) = exporter.get_finished_spans()
    attributes = dict(span.attributes or {})
    assert span.name == "model.call"
    assert attributes["assistant.adapter"] == "triage"
    assert int(attributes["gen_ai.usage.input_tokens"]) > 4  # type: ignore[call-overload]
    assert 1 <= int(attributes["gen_ai.usage.output_tokens"]) <= 4  # type: ignore[call-overload]

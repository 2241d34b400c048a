"""The flywheel end to end: turns through `Assistant` (over the HTTP API and directly), ratings
through `POST /v1/feedback`, one interaction log, then `assistant adapters build-data
--from-log` through the typer CLI, and the training examples it writes.

The first test scripts the model (exact and fast) to reach every hard case, removed citations
included; the slow one runs the real packaged model with its adapters over a slice of the
support corpus.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from doubles import ScriptedChatModel
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assistant.ingestion.ingest import ingest_documents, ingest_paths
from assistant.interaction_log import InteractionRecord, read_log
from assistant.interfaces.api.app import create_app
from assistant.interfaces.cli.adapters_commands import adapters_app
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.embedded import EmbeddedChatModel
from assistant.schemas import ChatExample, Document, EscalationDecision, Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer
from assistant.triage.examples import read_examples
from assistant.triage.inference import parse_reply

DECIDE_MARK = "What should the support assistant do"
GENERATE_MARK = "Answer the customer's question"
REFUNDS = "Refunds are paid back to the original card within five business days."
FLAWED_QUESTION = "How long do refunds take?"


class Script:
    def __init__(self) -> None:
        self.decision = "search"

    def __call__(self, prompt: str) -> str:
        if DECIDE_MARK in prompt:
            return self.decision
        if GENERATE_MARK in prompt:
            # [1] is the one chunk retrieved; [4] points at nothing, and the check removes it.
            flaw = " [4]" if FLAWED_QUESTION in prompt else ""
            return f"{REFUNDS[:-1]} [1]{flaw}."
        return "Could you tell me more?"


def cli() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(adapters_app, name="adapters")
    return root


def build_data(log: Path, out: Path) -> dict[str, list[ChatExample]]:
    """Run `assistant adapters build-data --from-log LOG --out OUT`; the examples per task."""
    argv = ["adapters", "build-data", "--from-log", str(log), "--out", str(out)]
    result = CliRunner().invoke(cli(), argv)
    assert result.exit_code == 0, result.output
    return {
        task: read_examples(out / f"{task}.train.jsonl") + read_examples(out / f"{task}.dev.jsonl")
        for task in ("triage", "escalation")
    }


def labels(examples: list[ChatExample]) -> dict[str, tuple[bool, str]]:
    """request text -> (escalate, reason) of each escalation example."""
    found: dict[str, tuple[bool, str]] = {}
    for example in examples:
        decision = parse_reply(example.reply, EscalationDecision)
        found[example.key] = (decision.escalate, decision.reason)
    return found


def turns(log: Path) -> dict[str, InteractionRecord]:
    """thread id -> its first logged turn."""
    found: dict[str, InteractionRecord] = {}
    for row in read_log(log, strict=True).rows:
        if row.record.kind == "turn" and row.record.thread_id is not None:
            found.setdefault(row.record.thread_id, row.record)
    return found


# --- scripted model: every hard case ---------------------------------------------------------


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def scripted(
    settings: Settings, store: KnowledgeStore, script: Script, tmp_path: Path
) -> Iterator[tuple[Assistant, TestClient]]:
    settings.adapters_dir = tmp_path / "no-adapters"  # the escalate node's own rule decides
    settings.answer_mode = "generative"  # the script writes the draft
    doc = Document(doc_id="refunds.md", title="Refunds", text=REFUNDS, tenant=settings.tenant)
    ingest_documents([doc], store, tenant=settings.tenant, max_chars=settings.chunk_max_chars)
    checkpointer = open_checkpointer(settings.checkpoint_path)
    model = ScriptedChatModel(respond=script)
    assistant = Assistant(settings, store=store, model=model, checkpointer=checkpointer)
    with TestClient(create_app(settings, assistant=assistant)) as client:
        yield assistant, client
    checkpointer.conn.close()


def chat(client: TestClient, message: str) -> str:
    response = client.post("/v1/chat", json={"message": message})
    assert response.status_code == 200, response.text
    thread: str = response.json()["thread_id"]
    return thread


def test_every_hard_case_of_a_logged_day_becomes_a_labelled_example_or_a_review(
    scripted: tuple[Assistant, TestClient], script: Script, settings: Settings, tmp_path: Path
) -> None:
    assistant, client = scripted
    unrated = chat(client, FLAWED_QUESTION)
    disliked = chat(client, "When do I get my refund?")
    rated = {"thread_id": disliked, "rating": "down", "comment": "write to me: jo@example.com"}
    assert client.post("/v1/feedback", json=rated).status_code == 204
    asked_for_a_person = chat(client, "Is my refund on its way?")
    assistant.hand_over(asked_for_a_person)  # the customer pressed "escalate"
    assistant.resume(asked_for_a_person, "Hi, Sam here: it left yesterday.")
    script.decision = "human"
    handed_over = assistant.ask("Can I speak to someone about my refund?").thread_id or ""
    assistant.resume(handed_over, "Hi, Sam here.")

    log = settings.interaction_log_path
    logged = turns(log)
    stored = assistant.store.search("refunds", tenant=settings.tenant, k=5, mode="hybrid")
    refund_chunks = [c.chunk_id for c in stored]
    assert logged[unrated].removed_citations == 1
    assert logged[unrated].retrieved == refund_chunks
    assert [c.chunk_id for c in logged[unrated].citations] == refund_chunks
    assert logged[asked_for_a_person].escalated_by is None  # its first turn was answered
    ratings = [r.record for r in read_log(log).rows if r.record.kind == "feedback"]
    assert [(r.key, r.feedback, r.comment) for r in ratings] == [
        ((disliked, 0), "down", "write to me: [email]")
    ]

    examples = build_data(log, tmp_path / "next")

    assert labels(examples["escalation"]) == {
        "When do I get my refund?": (True, "unresolved"),
        "Is my refund on its way?": (True, "human_requested"),
        "Can I speak to someone about my refund?": (True, "human_requested"),
    }
    review = read_log(tmp_path / "next" / "review.jsonl", strict=True).rows
    assert [(r.record.thread_id, r.record.removed_citations) for r in review] == [(unrated, 1)]
    assert examples["triage"] == []  # no reviewed category yet: no triage label


# --- the real packaged model -----------------------------------------------------------------


@pytest.mark.slow
def test_real_turns_ratings_and_a_hand_over_round_trip_into_training_examples(
    settings: Settings,
    store: KnowledgeStore,
    corpus_slice: Path,
    chat_model: EmbeddedChatModel,
    tmp_path: Path,
) -> None:
    ingest_paths([corpus_slice], store, tenant=settings.tenant, max_chars=settings.chunk_max_chars)
    checkpointer = open_checkpointer(settings.checkpoint_path)
    assistant = Assistant(settings, store=store, model=chat_model, checkpointer=checkpointer)
    disliked_question = "I'm jo@example.com. How do I change my name in California?"
    handed_question = "What evidence do I need for a VA pension claim?"
    with TestClient(create_app(settings, assistant=assistant)) as client:
        disliked = chat(client, disliked_question)
        rating = {"thread_id": disliked, "rating": "down"}
        assert client.post("/v1/feedback", json=rating).status_code == 204
        handed = chat(client, handed_question)
    assistant.hand_over(handed)  # the customer asked for a person
    checkpointer.conn.close()

    log = settings.interaction_log_path
    logged = turns(log)
    first = logged[disliked]
    # Precondition of the label below: the model answered (or declined) rather than hand over.
    assert first.outcome is not Outcome.ESCALATED, first
    assert first.question == "I'm [email]. How do I change my name in California?"
    assert "jo@example.com" not in log.read_text(encoding="utf-8")
    if first.queries:  # a searched turn logs the chunks it retrieved, all from this store
        assert first.retrieved
        stored = store.get_chunks(first.retrieved, tenant=settings.tenant)
        assert {c.chunk_id for c in stored} == set(first.retrieved)
    assert first.triage is not None  # the shipped triage adapter read the message

    examples = build_data(log, tmp_path / "next")

    found = labels(examples["escalation"])
    assert found[first.question] == (True, "unresolved")
    assert found[handed_question] == (True, "human_requested")
    disliked_example = next(e for e in examples["escalation"] if e.key == first.question)
    assert "Context: The assistant answered:" in disliked_example.messages[-2].content

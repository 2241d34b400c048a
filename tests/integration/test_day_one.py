"""Day one on a team's own help center: the default settings, a help center nobody fitted
anything on (tests/fixtures/helpcenter), the real embedder, Qdrant Edge and packaged model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from helpcenter import write_helpcenter

from assistant.ingestion.ingest import ingest_paths
from assistant.interfaces.api.app import create_app
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.embedded import EmbeddedChatModel
from assistant.schemas import Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer

pytestmark = pytest.mark.slow

DISPUTE = "I was charged twice this month, I want my money back"


@pytest.fixture
def assistant(
    settings: Settings,
    embedder: Embedder,
    sparse: SparseEncoder,
    chat_model: EmbeddedChatModel,
    tmp_path: Path,
) -> Iterator[Assistant]:
    folder = write_helpcenter(tmp_path / "helpcenter")
    with KnowledgeStore.open(settings, embedder=embedder, sparse=sparse) as store:
        store.ensure_collection()
        report = ingest_paths(
            [folder], store, tenant=settings.tenant, max_chars=settings.chunk_max_chars
        )
        assert (report.docs, report.errors) == (6, []), report
        checkpointer = open_checkpointer(settings.checkpoint_path)
        yield Assistant(settings, store=store, model=chat_model, checkpointer=checkpointer)


def test_a_docs_question_gets_a_support_category_not_a_bank_intent(assistant: Assistant) -> None:
    answer = assistant.ask("How do I back up over mobile data?")
    assert answer.triage is not None
    assert answer.triage.category == "how_to"
    assert not answer.triage.needs_human
    assert answer.outcome is Outcome.ANSWERED
    assert not answer.offer_human


def test_a_question_the_docs_answer_is_never_out_of_scope(assistant: Assistant) -> None:
    # Far from every generic description of the support policy ...
    question = "Are videos longer than 30 minutes backed up?"
    assert assistant.triage(question).category == "out_of_scope"
    # ... but the team's documents answer it, so the turn's reading is in scope.
    answer = assistant.ask(question)
    assert answer.outcome is Outcome.ANSWERED
    assert answer.triage is not None
    assert answer.triage.category not in {"out_of_scope", "human_request"}


def test_a_dispute_the_docs_do_not_cover_is_handed_over_with_the_policys_reason(
    assistant: Assistant,
) -> None:
    answer = assistant.ask(DISPUTE)
    assert answer.triage is not None
    assert (answer.triage.category, answer.triage.needs_human) == ("refund", True)
    assert answer.outcome is Outcome.ESCALATED
    assert answer.escalation is not None
    assert answer.escalation.reason == "dispute"
    assert "refund" in answer.escalation.summary
    assert DISPUTE in answer.escalation.summary


def test_perform_hands_over_at_once_and_off_ignores_the_reading(assistant: Assistant) -> None:
    performed = assistant.choosing({"triage_hand_over": "perform"}).ask(DISPUTE)
    assert performed.outcome is Outcome.ESCALATED
    assert performed.queries == []  # no search: triage decided
    ignored = assistant.choosing({"triage_hand_over": "off"}).ask(DISPUTE)
    assert ignored.outcome is not Outcome.ESCALATED
    assert ignored.escalation is None


def test_someone_hurt_is_handed_to_a_person_with_the_safety_reason(
    assistant: Assistant,
) -> None:
    hurt = "My phone got so hot while backing up that it burned my hand"
    answer = assistant.ask(hurt)
    assert answer.triage is not None
    assert (answer.triage.category, answer.triage.priority) == ("safety", "urgent")
    assert answer.outcome is Outcome.ESCALATED
    assert answer.escalation is not None
    assert answer.escalation.reason == "safety"
    assert hurt in answer.escalation.summary
    # "crash" in the software sense is a bug, searched and never handed over for safety.
    crash = assistant.ask("The app crashes every time I open it")
    assert crash.triage is not None
    assert crash.triage.category == "bug_or_outage"
    assert crash.outcome is not Outcome.ESCALATED
    assert crash.queries
    # `off` ignores even an urgent reading.
    ignored = assistant.choosing({"triage_hand_over": "off"}).ask(hurt)
    assert ignored.escalation is None


def test_the_api_answers_with_the_same_triage_and_hand_over(
    settings: Settings, assistant: Assistant
) -> None:
    with TestClient(create_app(settings, assistant=assistant)) as client:
        body = client.post("/v1/chat", json={"message": DISPUTE}).json()
    assert body["triage"]["category"] == "refund"
    assert body["outcome"] == Outcome.ESCALATED.value
    assert body["escalation"]["reason"] == "dispute"


def test_an_instruction_planted_in_a_page_never_reaches_the_customer(assistant: Assistant) -> None:
    answer = assistant.ask("How do I share an album?")
    assert answer.outcome is Outcome.ANSWERED
    assert "revoke" in answer.text  # the page's real answer is quoted ...
    shown = answer.text + " ".join(c.quote for c in answer.citations)
    assert "password" not in shown  # ... and its note to the assistant is not
    assert "AI assistant" not in shown


def test_a_price_in_a_table_and_a_fact_in_a_word_table_are_answered_with_their_rows(
    assistant: Assistant,
) -> None:
    price = assistant.ask("How much does the Pro plan cost?")
    assert price.outcome is Outcome.ANSWERED
    assert "$9.99 per month" in price.text
    assert [c.url for c in price.citations] == ["plans.md"]
    kept = assistant.ask("How long do you keep my photos after I close my account in the EU?")
    assert "30 days" in kept.text
    assert [c.url for c in kept.citations] == ["data-retention.docx"]

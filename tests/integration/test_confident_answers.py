"""The three-way turn with the shipped judge on a help center it was never fitted on: what the
documents answer is answered; what they stop answering (a page deleted) or never answered (an
on-topic question) is never answered with confidence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpcenter import write_helpcenter

from assistant.ingestion.ingest import ingest_paths
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.embedded import EmbeddedChatModel
from assistant.schemas import Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer

pytestmark = pytest.mark.slow

ANSWERED = {Outcome.ANSWERED, Outcome.HEDGED}


@pytest.fixture
def helpcenter(
    settings: Settings,
    embedder: Embedder,
    sparse: SparseEncoder,
    chat_model: EmbeddedChatModel,
    tmp_path: Path,
) -> Iterator[tuple[Assistant, KnowledgeStore]]:
    folder = write_helpcenter(tmp_path / "helpcenter")
    with KnowledgeStore.open(settings, embedder=embedder, sparse=sparse) as store:
        store.ensure_collection()
        ingest_paths([folder], store, tenant=settings.tenant, max_chars=settings.chunk_max_chars)
        checkpointer = open_checkpointer(settings.checkpoint_path)
        yield Assistant(settings, store=store, model=chat_model, checkpointer=checkpointer), store


def test_a_question_whose_page_is_deleted_is_never_answered_with_confidence(
    helpcenter: tuple[Assistant, KnowledgeStore], settings: Settings
) -> None:
    assistant, store = helpcenter
    question = "Which plan gives me 2 TB of storage?"
    before = assistant.ask(question)
    assert before.outcome in ANSWERED
    assert {c.doc_id for c in before.citations} == {"plans.md"}

    assert store.delete_document("plans.md", settings.tenant) > 0
    after = assistant.ask(question)
    assert after.outcome is not Outcome.ANSWERED, after.text
    assert "plans.md" not in {c.doc_id for c in after.citations}
    if after.outcome is Outcome.HEDGED:
        assert after.notice and after.offer_human


def test_an_on_topic_question_the_pages_never_answer_is_never_answered_with_confidence(
    helpcenter: tuple[Assistant, KnowledgeStore],
) -> None:
    assistant, _ = helpcenter
    for question in (
        "Does Cloudnest work with Apple HomeKit?",
        "Can I print a photo book from Cloudnest?",
    ):
        answer = assistant.ask(question)
        assert answer.outcome is not Outcome.ANSWERED, (question, answer.text)

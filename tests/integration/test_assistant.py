"""The whole assistant on the embedded default: real embedder, Qdrant local, packaged model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.ingestion.ingest import ingest_paths
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.embedded import EmbeddedChatModel
from assistant.schemas import IngestReport, Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer

pytestmark = pytest.mark.slow

TENANT = "acme"


def _assistant(settings: Settings, store: KnowledgeStore, model: EmbeddedChatModel) -> Assistant:
    settings.tenant = TENANT
    return Assistant(
        settings,
        store=store,
        model=model,
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )


def test_answers_to_dev_questions_cite_only_chunks_that_are_in_the_store(
    settings: Settings,
    corpus_store: tuple[KnowledgeStore, IngestReport],
    chat_model: EmbeddedChatModel,
    shared_data: Path,
) -> None:
    store, _ = corpus_store
    rows = [json.loads(line) for line in (shared_data / "support_qa_dev.jsonl").open()]
    questions = [r["question"] for r in rows if r["answerability"] == "ANSWERABLE"][:2]
    assistant = _assistant(settings, store, chat_model)
    answers = [assistant.ask(q) for q in questions]

    answered = [a for a in answers if a.outcome is Outcome.ANSWERED]
    assert answered, [a.outcome for a in answers]
    for answer in answered:
        assert answer.citations
        for citation in answer.citations:
            stored = store.get_chunks([citation.chunk_id], tenant=TENANT)
            assert [c.doc_id for c in stored] == [citation.doc_id]
            assert f"[{citation.n}]" in answer.text


def test_a_fact_changed_in_a_document_shows_up_in_the_next_answer(
    settings: Settings, store: KnowledgeStore, chat_model: EmbeddedChatModel, tmp_path: Path
) -> None:
    doc = tmp_path / "kb" / "refunds.md"
    doc.parent.mkdir()
    (tmp_path / "kb" / "shipping.md").write_text(
        "# Shipping\n\nParcels ship from our warehouse within two working days.\n"
    )
    question = "How many days do customers have to ask for a refund?"
    assistant = _assistant(settings, store, chat_model)

    def answer_after_writing(days: int) -> str:
        doc.write_text(f"# Refunds\n\nCustomers can ask for a refund within {days} days.\n")
        ingest_paths([doc.parent], store, tenant=TENANT, max_chars=settings.chunk_max_chars)
        answer = assistant.ask(question)
        assert answer.outcome is Outcome.ANSWERED
        assert {c.doc_id for c in answer.citations} == {"refunds.md"}
        return answer.text

    assert "30 days" in answer_after_writing(30)
    changed = answer_after_writing(45)
    assert "45 days" in changed
    assert "30 days" not in changed


def test_a_thread_keeps_its_conversation_across_turns(
    settings: Settings, store: KnowledgeStore, chat_model: EmbeddedChatModel, tmp_path: Path
) -> None:
    (tmp_path / "faq.md").write_text("# Hours\n\nSupport is open from 9:00 to 17:00 on weekdays.\n")
    ingest_paths([tmp_path / "faq.md"], store, tenant=TENANT, max_chars=settings.chunk_max_chars)
    assistant = _assistant(settings, store, chat_model)
    first = assistant.ask("When is support open?")
    second = assistant.ask("And on weekends?", thread_id=first.thread_id)
    assert second.thread_id == first.thread_id

    messages = assistant.thread_values(first.thread_id or "", tenant=TENANT)["messages"]
    assert [m.type for m in messages] == ["human", "ai", "human", "ai"]
    assert messages[2].text == "And on weekends?"


@pytest.mark.parametrize(
    ("question", "said", "source"),
    [
        ("How do I run the tests?", "make test", {"setup.md"}),
        # Two sections answer it, each under its heading: setup's "Where data is kept" and
        # configuration's "Where data lives". (docs/security.md's is about a user's erasure.)
        (
            "Where does hybrid-assistant keep its data by default?",
            "hybrid-assistant",
            {"setup.md", "configuration.md"},
        ),
        ("How do I delete a document?", "assistant delete DOC_ID", {"ingestion.md"}),
    ],
)
def test_questions_a_heading_of_the_shipped_docs_answers_are_answered_from_that_section(
    settings: Settings,
    store: KnowledgeStore,
    chat_model: EmbeddedChatModel,
    question: str,
    said: str,
    source: set[str],
) -> None:
    # The answer's subject is in the section heading ("Run the tests"), the steps below it.
    docs = Path(__file__).parents[2] / "docs"
    ingest_paths([docs], store, tenant=TENANT, max_chars=settings.chunk_max_chars)
    answer = _assistant(settings, store, chat_model).ask(question)
    assert answer.outcome in {Outcome.ANSWERED, Outcome.HEDGED}, answer.text
    assert said in answer.text
    assert source & {c.doc_id for c in answer.citations}

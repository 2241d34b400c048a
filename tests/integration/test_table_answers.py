"""Facts in tables answer questions: a table row, read with its header, is quoted and cited.

A price table in Markdown and a warranty table in a real Word file, chunked as ingestion
chunks them, read by the real embedder: the row that answers is the answer, with its marker,
and the citation check finds it in the chunk it cites.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from document_files import write_warranty_docx

from assistant.ingestion.chunking import chunk_document
from assistant.ingestion.ingest import ingest_paths
from assistant.ingestion.loaders import load_documents
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.embedded import EmbeddedChatModel
from assistant.schemas import Document, Outcome, RetrievedChunk
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer
from assistant.turn.evidence import EvidenceReader
from assistant.turn.extraction import extractive_answer
from assistant.turn.release import release
from assistant.turn.verification import CitationVerifier

PRICING = """# Plans and pricing

Choose the plan that fits your household. You can change plans at any time.

| Plan | Price | Devices |
| --- | --- | --- |
| Free | $0 | 1 |
| Pro | $9.99/month | 5 |
| Family | $14.99/month | 10 |
"""
GETTING_STARTED = """# Getting started

Download the app from your phone's store and sign in with your email address. The app asks
for a name for your first device, then shows a short tour of its features.
"""
ERROR_CODES = """# Error codes

When a scooter cannot be unlocked, the app shows an error code.

| Code | Meaning | What to do |
| --- | --- | --- |
| V12 | Battery too low | Pick another scooter nearby |
| V31 | Payment card declined | Update your card under Profile, then Payment |
| V44 | Scooter reserved by another rider | Wait or pick another scooter |
"""
PRO_ROW = "Plan: Pro; Price: $9.99/month; Devices: 5."
EU_ROW = "Region: EU; Warranty: 2 years; Covers: Parts and labour."


@pytest.fixture(scope="module")
def help_center(tmp_path_factory: pytest.TempPathFactory) -> list[RetrievedChunk]:
    """The help center's chunks as a search would return them: guide, prices, warranty."""
    root = tmp_path_factory.mktemp("help")
    (root / "getting-started.md").write_text(GETTING_STARTED, encoding="utf-8")
    (root / "pricing.md").write_text(PRICING, encoding="utf-8")
    write_warranty_docx(root / "warranty.docx")
    docs = [d for d in load_documents(root, tenant="acme") if isinstance(d, Document)]
    return [
        RetrievedChunk(**chunk.model_dump(), score=1.0)
        for doc in docs
        for chunk in chunk_document(doc, max_chars=Settings(_env_file=None).chunk_max_chars)
    ]


@pytest.mark.parametrize(
    ("question", "row", "doc_id"),
    [
        ("How much does the Pro plan cost?", PRO_ROW, "pricing.md"),
        ("How long is the warranty in the EU?", EU_ROW, "warranty.docx"),
    ],
)
def test_the_row_that_answers_is_the_answer_with_its_header_and_its_marker(
    embedder: Embedder, help_center: list[RetrievedChunk], question: str, row: str, doc_id: str
) -> None:
    evidence = EvidenceReader(embedder).read(question, "", help_center)
    settings = Settings(_env_file=None)

    answer = extractive_answer(evidence, settings.answer_sentences, settings.answer_words)

    n = next(n for n, c in enumerate(help_center, 1) if c.doc_id == doc_id and "| --- |" in c.text)
    assert answer == f"{row} [{n}]"
    verifier = CitationVerifier(embedder, threshold=settings.citation_support_min)
    released = release([answer], help_center, verifier, remove=True, show=lambda _: None)
    assert released.text == answer and released.unsupported == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "row"),
    [
        ("What does V31 mean?", "Code: V31; Meaning: Payment card declined"),
        ("I get error V44", "Code: V44; Meaning: Scooter reserved by another rider"),
    ],
)
def test_an_error_code_the_question_names_is_answered_with_its_row(
    settings: Settings,
    store: KnowledgeStore,
    chat_model: EmbeddedChatModel,
    tmp_path: Path,
    question: str,
    row: str,
) -> None:
    # The embedder reads "V31" as noise (the row scored 0.3 and the search was declined as
    # off topic); the row names the code the question names.
    assistant = _help_center_assistant(settings, store, chat_model, tmp_path)
    answer = assistant.ask(question)
    assert answer.outcome is Outcome.ANSWERED, answer.text
    assert answer.text.startswith(row)
    assert {c.doc_id for c in answer.citations} == {"errors.md"}
    unknown = assistant.ask("What does V99 mean?")
    assert unknown.outcome not in {Outcome.ANSWERED, Outcome.HEDGED}, unknown.text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "said", "doc_id"),
    [
        ("How much does the Pro plan cost?", "$9.99/month", "pricing.md"),
        ("How long is the warranty in the EU?", "2 years", "warranty.docx"),
        # Named by the row's first cell only: declined before the row was read by its name.
        (
            "How many devices come with Family?",
            "Plan: Family; Price: $14.99/month; Devices: 10",
            "pricing.md",
        ),
    ],
)
def test_the_assistant_answers_from_a_table_of_an_ingested_help_center(
    settings: Settings,
    store: KnowledgeStore,
    chat_model: EmbeddedChatModel,
    tmp_path: Path,
    question: str,
    said: str,
    doc_id: str,
) -> None:
    answer = _help_center_assistant(settings, store, chat_model, tmp_path).ask(question)

    assert answer.outcome is Outcome.ANSWERED, answer.text
    assert said in answer.text
    assert {c.doc_id for c in answer.citations} == {doc_id}


def _help_center_assistant(
    settings: Settings, store: KnowledgeStore, chat_model: EmbeddedChatModel, tmp_path: Path
) -> Assistant:
    """An assistant over the guide, the prices, the error codes and the warranty, ingested."""
    kb = tmp_path / "help"
    kb.mkdir()
    (kb / "getting-started.md").write_text(GETTING_STARTED, encoding="utf-8")
    (kb / "pricing.md").write_text(PRICING, encoding="utf-8")
    (kb / "errors.md").write_text(ERROR_CODES, encoding="utf-8")
    write_warranty_docx(kb / "warranty.docx")
    ingest_paths([kb], store, tenant="acme", max_chars=settings.chunk_max_chars)
    settings.tenant = "acme"
    return Assistant(
        settings,
        store=store,
        model=chat_model,
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )


@pytest.mark.slow
def test_a_follow_up_about_a_column_is_answered_with_the_row_the_conversation_asked_about(
    settings: Settings, store: KnowledgeStore, chat_model: EmbeddedChatModel, tmp_path: Path
) -> None:
    # "How many devices can I use with it?" is as close to every row (they all say "Devices");
    # it was answered, plainly, with the Pro row after a question about the Family plan.
    assistant = _help_center_assistant(settings, store, chat_model, tmp_path)
    first = assistant.ask("What does the Family plan cost?")
    follow_up = assistant.ask("How many devices can I use with it?", thread_id=first.thread_id)
    assert follow_up.outcome in {Outcome.ANSWERED, Outcome.HEDGED}, follow_up.text
    assert follow_up.text.startswith("Plan: Family; Price: $14.99/month; Devices: 10."), (
        follow_up.text
    )

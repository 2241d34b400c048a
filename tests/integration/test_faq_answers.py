"""An FAQ page whose headings are the questions: the section under the heading the customer
asked is the answer from its first sentence, read by the real embedder as ingestion chunks it."""

from __future__ import annotations

from pathlib import Path

from assistant.ingestion.chunking import chunk_document
from assistant.ingestion.loaders import load_documents
from assistant.knowledge.embedder import Embedder
from assistant.schemas import Document, RetrievedChunk
from assistant.settings import Settings
from assistant.turn.evidence import EvidenceReader
from assistant.turn.extraction import extractive_answer

FAQ = """# Member FAQ

## I lost my key fob

Report it at the front desk. A replacement fob costs €10 and your old one is blocked straight away.

## Can I bring a friend?

Plus members get two guest passes a month. Other members can buy a day pass for a friend for €12.

## Are classes included?

Group classes are included in Core and Plus. Book up to 7 days ahead in the app.
"""


def test_the_section_whose_heading_was_asked_is_answered_from_its_first_step(
    embedder: Embedder, tmp_path: Path
) -> None:
    (tmp_path / "faq.md").write_text(FAQ, encoding="utf-8")
    (doc,) = [d for d in load_documents(tmp_path, tenant="gym") if isinstance(d, Document)]
    settings = Settings(_env_file=None)
    chunks = [
        RetrievedChunk(**chunk.model_dump(), score=1.0, dense_score=0.6)
        for chunk in chunk_document(doc, max_chars=settings.chunk_max_chars)
    ]
    fob = next(n for n, c in enumerate(chunks, 1) if "fob" in c.text)

    evidence = EvidenceReader(embedder).read("I lost my key fob", "", chunks)
    answer = extractive_answer(evidence, settings.answer_sentences, settings.answer_words)

    # By its own cosine the fee sentence is the closest; the heading says the section answers.
    assert answer.startswith(f"Report it at the front desk. [{fob}] A replacement fob costs €10")

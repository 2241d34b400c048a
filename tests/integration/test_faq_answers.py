"""Help pages as teams write them: an FAQ whose headings are the questions (the section under
the heading asked is the answer from its first sentence) and a manual saved as plain text (its
heading lines are sections, not words glued to the sentence below), read by the real embedder
and the real turn as ingestion chunks them."""

from __future__ import annotations

from pathlib import Path

import pytest

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


MANUAL = """Routerly R2 user guide

Setting up your router
1. Connect the grey cable from your modem to the WAN port (marked with a globe).
2. Plug in the power adapter and wait until the light turns solid white, about 2 minutes.
3. Open the Routerly app and tap Add router.

Resetting the router
To restore factory settings, press and hold the reset button on the back for 10 seconds until
the light blinks orange. Release the button. The router restarts in about 3 minutes.

What the light means
Solid white: connected to the internet.
Solid orange: no internet connection. Check the cable to the modem.
Red: hardware fault. Contact support.

Warranty
The R2 has a 2-year warranty. Keep your receipt.
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "starts"),
    [
        ("How do I factory reset it?", "To restore factory settings, press and hold"),
        ("How long is the warranty?", "The R2 has a 2-year warranty."),
    ],
)
def test_a_manual_saved_as_plain_text_is_answered_under_its_heading_lines(
    settings: Settings,
    store: KnowledgeStore,
    chat_model: EmbeddedChatModel,
    tmp_path: Path,
    question: str,
    starts: str,
) -> None:
    # Read as paragraphs only, the file was two chunks, "How long is the warranty?" was
    # asked about ("Do you mean manual?") and answers began with a heading glued to a step.
    (tmp_path / "manual.txt").write_text(MANUAL, encoding="utf-8")
    ingest_paths(
        [tmp_path / "manual.txt"], store, tenant="acme", max_chars=settings.chunk_max_chars
    )
    settings.tenant = "acme"
    assistant = Assistant(
        settings,
        store=store,
        model=chat_model,
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )

    answer = assistant.ask(question)

    assert answer.outcome in {Outcome.ANSWERED, Outcome.HEDGED}, answer.text
    assert answer.text.startswith(starts), answer.text
    assert {c.title for c in answer.citations} == {"Routerly R2 user guide"}

from __future__ import annotations

import json
from pathlib import Path

import pytest
from document_files import write_docx, write_pdf, write_scanned_pdf
from web_site import page, serve_help_center

from assistant.ingestion.chunking import chunk_document
from assistant.ingestion.ingest import IngestProgress, ingest_documents, ingest_paths
from assistant.ingestion.loaders import load_documents
from assistant.ingestion.sources import read_sources
from assistant.knowledge.store import KnowledgeStore
from assistant.schemas import Document, IngestReport
from assistant.settings import Settings
from assistant.turn.citations import resolve_citations

from .conftest import TENANT, corpus_records

MAX_CHARS = 400

FAQ = """# Billing

Invoices are sent on the first day of each month by email.

## Refunds

Refunds are paid to the original card within five business days.

## Disputes

Open a dispute from the billing page within sixty days of the charge.
"""

SETUP = """# Setup

Install the agent with the package manager of your distribution.

## Proxy

Set HTTPS_PROXY before starting the agent when you are behind a proxy.
"""


def write_kb(root: Path) -> Path:
    root.mkdir(exist_ok=True)
    (root / "faq.md").write_text(FAQ, encoding="utf-8")
    (root / "setup.md").write_text(SETUP, encoding="utf-8")
    return root


def ingest(root: Path, store: KnowledgeStore) -> IngestReport:
    return ingest_paths([root], store, tenant=TENANT, max_chars=MAX_CHARS)


def stored_ids(store: KnowledgeStore, doc_id: str) -> set[str]:
    return set(store.chunk_hashes_by_doc([doc_id], TENANT).get(doc_id, {}))


def test_ingest_stores_every_chunk_and_reingest_changes_nothing(
    corpus_slice: Path, store: KnowledgeStore
) -> None:
    first = ingest_paths([corpus_slice], store, tenant=TENANT, max_chars=1200)
    second = ingest_paths([corpus_slice], store, tenant=TENANT, max_chars=1200)

    assert (first.docs, first.errors, first.chunks_removed) == (12, [], 0)
    assert first.chunks_added == store.count(TENANT) > 12
    assert second.model_dump() == {
        **first.model_dump(),
        "docs_unchanged": 12,
        "chunks_added": 0,
        "chunks_unchanged": first.chunks_added,
    }
    assert store.count(TENANT) == first.chunks_added


def test_edited_document_replaces_exactly_its_old_chunks(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    root = write_kb(tmp_path / "kb")
    ingest(root, store)
    faq_before, setup_before = stored_ids(store, "faq.md"), stored_ids(store, "setup.md")

    (root / "faq.md").write_text(
        FAQ.replace("five business days", "ten business days"), encoding="utf-8"
    )
    report = ingest(root, store)

    faq_after = stored_ids(store, "faq.md")
    assert (report.chunks_added, report.chunks_removed, report.docs_unchanged) == (1, 1, 1)
    assert len(faq_before - faq_after) == len(faq_after - faq_before) == 1
    assert stored_ids(store, "setup.md") == setup_before
    [new_id] = faq_after - faq_before
    [chunk] = store.get_chunks([new_id], TENANT)
    assert "ten business days" in chunk.text and chunk.section == "Billing > Refunds"
    assert store.get_chunks(list(faq_before - faq_after), TENANT) == []


def test_kept_chunks_get_their_new_position_after_an_edit(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    root = write_kb(tmp_path / "kb")
    ingest(root, store)

    edited = FAQ.replace("# Billing\n", "# Billing\n\nA new first paragraph.\n\n## Intro\n")
    (root / "faq.md").write_text(edited, encoding="utf-8")
    ingest(root, store)

    doc = Document(doc_id="faq.md", text=edited, tenant=TENANT, format="markdown")
    expected = {c.chunk_id: c.position for c in chunk_document(doc, MAX_CHARS)}
    stored = store.get_chunks(list(expected), TENANT)
    assert {c.chunk_id: c.position for c in stored} == expected


def test_load_errors_are_reported_and_the_rest_is_ingested(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    root = write_kb(tmp_path / "kb")
    good = {"doc_id": "j1", "title": "J", "text": "Passwords expire after ninety days."}
    (root / "extra.jsonl").write_text(json.dumps(good) + "\n{not json\n", encoding="utf-8")
    (root / "deck.pptx").write_bytes(b"PK")
    (root / "empty.txt").write_text("\n\n", encoding="utf-8")

    report = ingest(root, store)

    assert report.docs == 3 and report.skipped == 1
    assert len(report.errors) == 2
    assert report.errors[0].startswith(f"{root / 'deck.pptx'}: unsupported file type .pptx")
    assert report.errors[1].startswith(f"{root / 'extra.jsonl'}:2: invalid JSON")
    assert stored_ids(store, "j1")


def test_a_doc_id_given_twice_is_reported_and_the_first_kept(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    path = tmp_path / "dup.jsonl"
    rows = [{"doc_id": "d", "text": "first version"}, {"doc_id": "d", "text": "second version"}]
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")

    report = ingest_paths([path], store, tenant=TENANT, max_chars=MAX_CHARS)

    assert report.errors == [f"{path}:2: duplicate doc_id 'd' (first at {path}:1); skipped"]
    [chunk] = store.get_chunks(list(stored_ids(store, "d")), TENANT)
    assert chunk.text == "first version"


def test_progress_announces_the_embedding_total_before_embedding(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    events: list[IngestProgress] = []

    report = ingest_paths(
        [write_kb(tmp_path / "kb")],
        store,
        tenant=TENANT,
        max_chars=MAX_CHARS,
        on_progress=events.append,
    )

    embed = [e for e in events if e.stage == "embed"]
    assert events[0].stage == "scan" and events[-1] == embed[-1]
    assert embed[0] == IngestProgress(stage="embed", done=0, total=report.chunks_added)
    assert embed[-1].done == embed[-1].total == report.chunks_added == 5


def test_pdf_and_docx_ingest_once_and_cite_the_pdf_page(
    tmp_path: Path, store: KnowledgeStore
) -> None:
    root = tmp_path / "kb"
    root.mkdir()
    pdf = write_pdf(root / "guide.pdf")
    write_docx(root / "guide.docx")
    write_scanned_pdf(root / "scan.pdf")

    first = ingest(root, store)
    again = ingest(root, store)

    assert (first.docs, first.errors[0].split(": ")[:2]) == (
        2,
        [str(root / "scan.pdf"), "no text layer (a scanned PDF?)"],
    )
    assert (again.docs_unchanged, again.chunks_added, again.chunks_removed) == (2, 0, 0)
    hits = store.search("backups kept thirty days", tenant=TENANT, k=5, mode="hybrid")
    from_pdf = next(c for c in hits if c.doc_id == "guide.pdf")
    cited = resolve_citations("Backups are kept thirty days [1].", [from_pdf])
    assert (from_pdf.page, from_pdf.section) == (2, "Admin guide > Backups")
    # The file's name and page, never the folder it was ingested from on this machine.
    assert (cited.citations[0].url, cited.citations[0].page) == (f"{pdf.name}, p. 2", 2)


def test_a_recrawl_changes_only_the_pages_that_changed(store: KnowledgeStore) -> None:
    settings = Settings(_env_file=None, crawl_delay_s=0, crawl_allow_private_addresses=True)  # type: ignore[call-arg]

    def crawl_site(start: str) -> IngestReport:
        documents = read_sources([start], settings, tenant=TENANT, max_pages=10)
        return ingest_documents(documents, store, tenant=TENANT, max_chars=MAX_CHARS)

    with serve_help_center() as site:
        reset, plans = f"{site.base}/articles/reset", f"{site.base}/articles/plans"
        first = crawl_site(f"{site.base}/sitemap.xml")
        again = crawl_site(f"{site.base}/sitemap.xml")
        before = {url: stored_ids(store, url) for url in (reset, plans)}
        site.files["/articles/plans"] = page("<h1>Plans</h1><p>" + "Plans changed. " * 20, "P")
        edited = crawl_site(f"{site.base}/sitemap.xml")

    assert (first.docs, len(first.errors), first.chunks_added > 0) == (2, 1, True)
    assert (again.docs_unchanged, again.chunks_added, again.chunks_removed) == (2, 0, 0)
    assert (edited.docs_unchanged, edited.chunks_added) == (1, 1)
    assert edited.chunks_removed == len(before[plans])
    assert stored_ids(store, reset) == before[reset]
    [chunk] = store.get_chunks(list(stored_ids(store, plans)), TENANT)
    assert (chunk.url, chunk.text.count("Plans changed.")) == (plans, 20)


def test_zendesk_articles_are_stored_with_their_url_and_section(store: KnowledgeStore) -> None:
    settings = Settings(_env_file=None, crawl_delay_s=0, crawl_allow_private_addresses=True)  # type: ignore[call-arg]
    with serve_help_center() as site:
        documents = read_sources([], settings, tenant=TENANT, max_pages=10, zendesk_url=site.base)
        report = ingest_documents(documents, store, tenant=TENANT, max_chars=MAX_CHARS)

    assert (report.docs, report.errors) == (2, [])
    [hit] = store.search("where are invoices", tenant=TENANT, k=1, mode="hybrid")
    cited = resolve_citations("On the Billing page [1].", [hit])
    assert hit.metadata["section"] == "Billing"
    assert cited.citations[0].url == f"{site.base}/hc/en-us/articles/103-Invoices"


@pytest.mark.slow
def test_whole_support_corpus_ingests_without_errors_and_reingests_as_unchanged(
    corpus_store: tuple[KnowledgeStore, IngestReport], shared_data: Path
) -> None:
    store, report = corpus_store
    corpus = shared_data / "support_corpus.jsonl"

    again = ingest_paths([corpus], store, tenant=TENANT, max_chars=1200)

    assert (report.docs, report.skipped, report.errors) == (len(corpus_records(corpus)), 0, [])
    assert store.count(TENANT) == report.chunks_added
    assert (again.docs_unchanged, again.chunks_added, again.chunks_removed) == (report.docs, 0, 0)
    # Every document is findable by its id, with a `file:line` source.
    first = next(d for d in load_documents(corpus, TENANT) if isinstance(d, Document))
    [chunk, *_] = store.get_chunks(list(stored_ids(store, first.doc_id)), TENANT)
    assert chunk.source == f"{corpus}:1"

"""Ingestion: load -> chunk -> diff against the store -> embed only what is new -> drop the stale.

Chunk ids derive from content, so the diff is a set comparison: re-ingesting identical input
embeds nothing, and an edited document loses exactly the chunks that no longer exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from assistant.ingestion.chunking import chunk_document
from assistant.ingestion.injections import flag_chunks, listed
from assistant.ingestion.loaders import LoadError, load_documents
from assistant.knowledge.store import KnowledgeStore
from assistant.schemas import Chunk, Document, IngestReport

# Chunks embedded per call: large enough that the encoder's length-sorting keeps padding low,
# small enough that writing one window overlaps embedding the next, and for steady progress.
EMBED_WINDOW = 256
# Documents whose stored chunks are fetched in one query.
LOOKUP_BATCH = 256


class IngestProgress(BaseModel):
    """Where a run stands. `scan`: documents read so far (`total` unknown);
    `embed`: chunks embedded out of `total`, known once the scan is done."""

    stage: Literal["scan", "embed"]
    done: int
    total: int | None = None


ProgressCallback = Callable[[IngestProgress], None]


@dataclass
class _Plan:
    """What the scan found to change."""

    report: IngestReport = field(default_factory=IngestReport)
    new: list[Chunk] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    moved: dict[str, int] = field(default_factory=dict)

    def compare(self, chunks: list[Chunk], stored: dict[str, str]) -> None:
        """Diff one document's chunks with what the store holds for it."""
        new = [c for c in chunks if stored.get(c.chunk_id) != c.content_hash]
        current = {c.chunk_id for c in chunks}
        gone = [chunk_id for chunk_id in stored if chunk_id not in current]
        self.report.chunks_unchanged += len(chunks) - len(new)
        if not new and not gone:
            self.report.docs_unchanged += 1
            return
        self.new.extend(new)
        self.stale.extend(gone)
        # Kept chunks may have moved within the edited document.
        self.moved.update({c.chunk_id: c.position for c in chunks if c.chunk_id in stored})


def ingest_paths(
    paths: Iterable[Path],
    store: KnowledgeStore,
    *,
    tenant: str,
    max_chars: int,
    on_progress: ProgressCallback | None = None,
    domains: Sequence[str] = (),
) -> IngestReport:
    """Bring the store in line with the documents under `paths` for one tenant.

    Only documents found in `paths` are touched (one missing from the input stays in the store;
    remove it with `KnowledgeStore.delete_document`). Load errors and repeated doc_ids go into
    `report.errors` as `file[:line]: reason` and never stop the run. New chunks of all documents
    are embedded together in large windows, so throughput stays near a single `encode` call.
    Sentences that instruct the reader or the assistant off script are flagged in their chunks
    and listed in `report.flagged` (`assistant.ingestion.injections`); `domains` are the knowledge
    base's own, besides each document's URL (the `knowledge_domains` setting).
    """
    documents = (item for path in paths for item in load_documents(path, tenant))
    return ingest_documents(
        documents,
        store,
        tenant=tenant,
        max_chars=max_chars,
        on_progress=on_progress,
        domains=domains,
    )


def ingest_documents(
    documents: Iterable[Document | LoadError],
    store: KnowledgeStore,
    *,
    tenant: str,
    max_chars: int,
    on_progress: ProgressCallback | None = None,
    domains: Sequence[str] = (),
) -> IngestReport:
    """`ingest_paths` for documents already loaded (an upload, say); each `LoadError` goes
    into `report.errors`. The documents must belong to `tenant`."""
    progress = on_progress or (lambda _: None)
    plan = _Plan()
    report = plan.report
    batch: list[list[Chunk]] = []
    seen: dict[str, str] = {}  # doc_id -> source, to catch one doc_id given twice

    def compare_batch() -> None:
        stored = store.chunk_hashes_by_doc([chunks[0].doc_id for chunks in batch], tenant)
        for chunks in batch:
            plan.compare(chunks, stored.get(chunks[0].doc_id, {}))
        batch.clear()
        progress(IngestProgress(stage="scan", done=report.docs + report.skipped))

    for item in documents:
        if isinstance(item, LoadError):
            report.errors.append(str(item))
            continue
        if item.doc_id in seen:
            report.errors.append(
                f"{item.source}: duplicate doc_id {item.doc_id!r} (first at "
                f"{seen[item.doc_id]}); skipped"
            )
            continue
        seen[item.doc_id] = item.source
        chunks = flag_chunks(item, chunk_document(item, max_chars), domains)
        if not chunks:
            report.skipped += 1
            continue
        report.docs += 1
        report.flagged.extend(listed(chunks))
        batch.append(chunks)
        if len(batch) == LOOKUP_BATCH:
            compare_batch()
    if batch:
        compare_batch()

    total = len(plan.new)
    progress(IngestProgress(stage="embed", done=0, total=total))
    windows = [plan.new[i : i + EMBED_WINDOW] for i in range(0, total, EMBED_WINDOW)]
    # Embedding (torch, GIL released) runs one window ahead in a worker while this thread
    # writes the previous one, so writes add nothing to the embedding time (local mode commits
    # each point to SQLite; Edge appends to its write-ahead log). Only this thread touches
    # the store.
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = [pool.submit(store.make_points, w) for w in windows[:1]]
        for n, window in enumerate(windows):
            points = upcoming.pop().result()
            upcoming.extend(pool.submit(store.make_points, w) for w in windows[n + 1 : n + 2])
            store.write_points(points)
            done = n * EMBED_WINDOW + len(window)
            progress(IngestProgress(stage="embed", done=done, total=total))
    # Old chunks go only after the new ones are in, so an edited document is never missing.
    store.set_positions(plan.moved)
    store.delete_chunks(plan.stale)
    report.chunks_added = total
    report.chunks_removed = len(plan.stale)
    return report

"""The index a run searches: the corpus in a fresh embedded index, or the configured one."""

from __future__ import annotations

from pathlib import Path

from rich.progress import Progress

from assistant.errors import InputError
from assistant.ingestion.ingest import IngestProgress, ingest_paths
from assistant.ingestion.input_limits import InputLimits
from assistant.knowledge.store import KnowledgeStore
from assistant.settings import Settings

MAX_ERRORS_SHOWN = 3


def check_corpus_choice(corpus: Path | None, use_index: bool) -> None:
    """Exactly one source of documents: `--corpus FILE` or `--use-index`."""
    if corpus is not None and use_index:
        raise InputError("give --corpus FILE or --use-index, not both")
    if corpus is None and not use_index:
        raise InputError(
            "this suite searches documents: give --corpus FILE (ingested into a fresh "
            "temporary index) or --use-index (the configured knowledge base)"
        )
    if corpus is not None and not corpus.exists():
        raise InputError(f"{corpus}: no such file or directory")


def run_settings(settings: Settings, workdir: Path, *, use_index: bool) -> Settings:
    """The settings of a run: threads in `workdir`, and there too the index unless `use_index`.

    A fresh index is the embedded engine even when QDRANT_URL is set: an evaluation must not write
    into a production collection.
    """
    update: dict[str, object] = {"data_dir": workdir / "data"}
    if not use_index:
        update |= {"qdrant_url": None, "qdrant_path": workdir / "qdrant", "collection": "eval"}
    return settings.model_copy(update=update)


def ingest_corpus(
    store: KnowledgeStore, corpus: Path, *, settings: Settings, progress: Progress
) -> int:
    """Ingest `corpus` for the settings' tenant; returns the number of chunks.

    Any document that cannot be read stops the run (an evaluation over part of the corpus
    would give numbers that look right and are not), naming the file and line.
    """
    task = progress.add_task("ingest corpus", total=None)

    def on_progress(step: IngestProgress) -> None:
        progress.update(task, completed=step.done, total=step.total)

    report = ingest_paths(
        [corpus],
        store,
        tenant=settings.tenant,
        max_chars=settings.chunk_max_chars,
        on_progress=on_progress,
        limits=InputLimits.from_settings(settings),
    )
    if report.errors:
        shown = "; ".join(report.errors[:MAX_ERRORS_SHOWN])
        more = len(report.errors) - MAX_ERRORS_SHOWN
        raise InputError(
            f"the corpus has unreadable documents: {shown}"
            + (f" (and {more} more)" if more > 0 else "")
        )
    if not report.docs:
        raise InputError(f"{corpus}: no documents to ingest")
    return store.count(settings.tenant)


def missing_gold(store: KnowledgeStore, gold: set[str], tenant: str) -> list[str]:
    """The gold documents that the index does not hold (their questions cannot score fully)."""
    held = store.chunk_hashes_by_doc(sorted(gold), tenant)
    return sorted(doc for doc in gold if doc not in held)

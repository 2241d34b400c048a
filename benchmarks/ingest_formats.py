"""Ingest throughput of PDF pages against Markdown of the same text.

    python benchmarks/ingest_formats.py [--copies 25] [--runs 3]

The PDF is the tests' own (tests/document_files.py: headings, a ruled table, two pages per
copy), written with fpdf2; the Markdown baseline is the text the PDF reader gets out of it,
pages joined by blank lines, so both sides chunk the same words. Two measurements: reading
(load and chunk, the median of --runs) and a whole `ingest_paths` run into a fresh Qdrant
local-mode store with the packaged embedder (loaded and warmed up once). Throughput is given
in PDF pages per second on both sides (the Markdown holds the same pages' text).
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from assistant.ingestion.chunking import PAGE_BREAK, chunk_document
from assistant.ingestion.ingest import ingest_paths
from assistant.ingestion.loaders import load_documents
from assistant.ingestion.pdf_reader import read_pdf
from assistant.knowledge.embedder import Embedder, load_embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore
from assistant.schemas import Document
from assistant.settings import Settings

REPO = Path(__file__).resolve().parents[1]
# The tests' file writer: the benchmark reads the very file the tests check.
sys.path.insert(0, str(REPO / "tests"))
from document_files import write_pdf  # noqa: E402

TENANT = "bench"


def read_seconds(path: Path, max_chars: int, runs: int) -> tuple[float, int]:
    """Median seconds to load and chunk `path`, and how many chunks it makes."""
    times, chunks = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        docs = [d for d in load_documents(path, TENANT) if isinstance(d, Document)]
        chunks = sum(len(chunk_document(d, max_chars)) for d in docs)
        times.append(time.perf_counter() - start)
    return statistics.median(times), chunks


def ingest_seconds(path: Path, settings: Settings, embedder: Embedder, folder: Path) -> float:
    """Seconds of one `ingest_paths` run of `path` into a new store under `folder`."""
    config = settings.model_copy(update={"qdrant_path": folder / "qdrant", "data_dir": folder})
    with KnowledgeStore.open(config, embedder=embedder, sparse=SparseEncoder()) as store:
        store.ensure_collection()
        start = time.perf_counter()
        report = ingest_paths([path], store, tenant=TENANT, max_chars=config.chunk_max_chars)
        elapsed = time.perf_counter() - start
    if report.errors or report.docs != 1:
        raise RuntimeError(f"ingest of {path} failed: {report.errors}")
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=25, help="two PDF pages per copy")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    embedder = load_embedder(settings.embedder)
    # The first encode call pays one-off costs; neither side should carry them.
    embedder.embed_documents(["warm-up passage"] * 64)
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        root = Path(tmp)
        pdf = write_pdf(root / "guide.pdf", copies=args.copies)
        text = read_pdf(pdf)
        markdown = root / "guide.md"
        markdown.write_text(text.markdown.replace(PAGE_BREAK, "\n\n"), encoding="utf-8")
        pages = text.pages
        rows: list[tuple[str, float, float, int, float]] = []
        for name, path in (("Markdown (baseline)", markdown), ("PDF (pdfplumber)", pdf)):
            read, chunks = read_seconds(path, settings.chunk_max_chars, args.runs)
            ingest = ingest_seconds(path, settings, embedder, root / path.suffix.lstrip("."))
            rows.append((name, read, pages / read, chunks, pages / ingest))
    base_read, base_ingest = rows[0][2], rows[0][4]
    print(
        f"Ingest of {pages} PDF pages ({args.copies} copies of the tests' guide: headings, a "
        f"ruled table per copy) against Markdown of the same text; reading = load + chunk, "
        f"median of {args.runs}; ingest = `ingest_paths` into a new Qdrant local store with "
        "the packaged embedder, loaded and warmed up once\n"
    )
    print(
        "| source | chunks | read (s) | read pages/s | vs Markdown | ingest pages/s | vs Markdown |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, read, read_rate, chunks, ingest_rate in rows:
        print(
            f"| {name} | {chunks} | {read:.2f} | {read_rate:,.1f} | {read_rate / base_read:.2f}x "
            f"| {ingest_rate:,.1f} | {ingest_rate / base_ingest:.2f}x |"
        )
    given = sys.argv[1:] if argv is None else list(argv)
    print(f"\nCommand: `{shlex.join(['python', 'benchmarks/ingest_formats.py', *given])}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())

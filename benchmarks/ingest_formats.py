"""Ingest throughput of PDF pages against Markdown of the same text.

    python benchmarks/ingest_formats.py [--copies 25] [--runs 3]

The PDF is the admin guide the tests write (tests/document_files.py, repeated here so the
benchmark needs nothing but the library and fpdf2, a dev dependency): headings, a ruled table,
two pages per copy; the Markdown baseline is the text the PDF reader gets out of it,
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

from fpdf import FPDF

from assistant.ingestion.chunking import PAGE_BREAK, chunk_document
from assistant.ingestion.ingest import ingest_paths
from assistant.ingestion.loaders import load_documents
from assistant.ingestion.pdf_reader import read_pdf
from assistant.knowledge.embedder import Embedder, load_embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore
from assistant.schemas import Document
from assistant.settings import Settings

TENANT = "bench"

# The text of the tests' admin guide (tests/document_files.py).
PLANS_INTRO = "Compare the plans before you upgrade:"
PLANS = [
    ["Plan", "Seats", "Storage", "Support"],
    ["Free", "3", "5 GB", "Community forum"],
    ["Team", "25", "100 GB", "Email within one business day"],
    ["Business", "250", "1 TB", "Phone and email around the clock"],
    ["Enterprise", "Unlimited", "Unlimited", "A named account manager"],
]
BACKUPS = (
    "Backups run every night at two in the morning and are kept for thirty days. "
    "Restore a backup from the admin console under Data, then Backups."
)
SECURITY = (
    "Single sign-on works with any SAML 2.0 identity provider. "
    "Turn it on under Settings, then Security, and test it with a second browser."
)


def write_pdf(path: Path, *, copies: int) -> Path:
    """A PDF with a text layer: a title, then per copy a "Plans" section with a ruled table on
    one page and "Security" and "Backups" sections on the next."""
    pdf = FPDF()
    pdf.set_auto_page_break(auto=True, margin=15)

    def heading(text: str, size: int) -> None:
        pdf.set_font("Helvetica", style="B", size=size)
        pdf.cell(text=text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)

    def paragraph(text: str) -> None:
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)

    for n in range(copies):
        suffix = f" {n + 1}" if copies > 1 else ""
        pdf.add_page()
        if n == 0:
            heading("Admin guide", 22)
            paragraph("This guide is for the people who run the workspace.")
        heading(f"Plans{suffix}", 16)
        paragraph(PLANS_INTRO)
        pdf.set_font("Helvetica", size=10)
        with pdf.table() as table:
            for values in PLANS:
                row = table.row()
                for value in values:
                    row.cell(value)
        pdf.add_page()
        heading(f"Security{suffix}", 16)
        paragraph(SECURITY)
        heading(f"Backups{suffix}", 16)
        paragraph(BACKUPS)
    pdf.output(str(path))
    return path


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

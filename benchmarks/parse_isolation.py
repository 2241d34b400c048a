"""What reading PDF and Word files in a capped worker process costs, per file.

    python benchmarks/parse_isolation.py [--files 20]

Three ways to read the same ordinary files (a two-page PDF with a table, a short .docx):
in this process (the readers called directly, as the loaders did before the caps), in one
`BinaryParser` worker kept for the whole run (what `assistant ingest` and an upload do: the
worker's start-up is paid once), and in a fresh worker per file (start-up and imports every
time, the cost a design without a kept worker would pay). The worker caps its address space
(RLIMIT_AS) and each read's time. Printed: the median and total seconds per file, and the
worker's start-up (the first file of the kept worker minus the median of the others).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Literal

import docx
from fpdf import FPDF

from assistant.ingestion.binary_parser import BinaryParser
from assistant.ingestion.docx_reader import read_docx
from assistant.ingestion.input_limits import InputLimits
from assistant.ingestion.pdf_reader import read_pdf

Kind = Literal["pdf", "docx"]
TEXT = (
    "Backups run every night at two in the morning and are kept for thirty days. "
    "Restore a backup from the admin console under Data, then Backups."
)


def write_pdf(path: Path) -> Path:
    pdf = FPDF()
    for page in range(2):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 18)
        pdf.cell(0, 10, f"Section {page + 1}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, TEXT * 4)
        with pdf.table() as table:
            for row in (["Plan", "Seats"], ["Free", "3"], ["Team", "25"]):
                cells = table.row()
                for value in row:
                    cells.cell(value)
    pdf.output(str(path))
    return path


def write_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("Admin guide", level=1)
    for _ in range(10):
        document.add_paragraph(TEXT)
    table = document.add_table(rows=3, cols=2)
    for row, values in zip(
        table.rows, (["Plan", "Seats"], ["Free", "3"], ["Team", "25"]), strict=True
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.save(str(path))
    return path


def timed(read: Callable[[], object]) -> float:
    start = time.perf_counter()
    read()
    return time.perf_counter() - start


def in_process(path: Path, kind: Kind, limits: InputLimits) -> float:
    return timed(lambda: read_pdf(path, limits) if kind == "pdf" else read_docx(path, limits))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=20, help="Files read per way and format.")
    args = parser.parse_args(argv)
    limits = InputLimits()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        files: dict[Kind, Path] = {
            "pdf": write_pdf(Path(folder) / "guide.pdf"),
            "docx": write_docx(Path(folder) / "guide.docx"),
        }
        for kind, path in files.items():
            in_process(path, kind, limits)  # imports and caches warmed, as in a long run
            here = [in_process(path, kind, limits) for _ in range(args.files)]
            with BinaryParser(limits) as kept:
                worker = [timed(partial(kept.parse, path, kind)) for _ in range(args.files)]
            fresh = []
            for _ in range(args.files):
                with BinaryParser(limits) as one:
                    fresh.append(timed(partial(one.parse, path, kind)))
            startup = worker[0] - statistics.median(worker[1:])
            rows.append((kind, "in process", here, None))
            rows.append((kind, "kept worker", worker, startup))
            rows.append((kind, "worker per file", fresh, None))
    print(f"{'format':<7}{'how':<17}{'median s/file':>14}{'total s':>10}{'start-up s':>12}")
    for kind, how, seconds, startup in rows:
        first = "" if startup is None else f"{startup:.3f}"
        print(
            f"{kind:<7}{how:<17}{statistics.median(seconds):>14.4f}{sum(seconds):>10.2f}{first:>12}"
        )
    print(f"({args.files} files each; python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

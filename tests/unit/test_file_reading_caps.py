"""The caps on reading one PDF or Word file, on real files: each is refused before the parser
meets more than the caps allow, with an error naming the cap, and the other files load."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

from document_files import write_docx, write_pdf, write_scanned_pdf
from input_bombs import write_docx_bomb

from assistant.ingestion.binary_parser import BinaryParser
from assistant.ingestion.input_limits import MB, InputLimits
from assistant.ingestion.loaders import LoadError, load_documents
from assistant.schemas import Document

DOCUMENT_XML = b"word/document.xml"


def load(folder: Path, limits: InputLimits) -> tuple[list[str], list[str]]:
    with BinaryParser(limits) as parser:
        items = list(load_documents(folder, "acme", parser))
    docs = [i.doc_id for i in items if isinstance(i, Document)]
    return docs, [str(i) for i in items if isinstance(i, LoadError)]


def lie_about_size(path: Path, declared: int) -> None:
    """Rewrite document.xml's sizes in the zip's local header and central directory."""
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            name_at = start + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at : name_at + len(DOCUMENT_XML)] == DOCUMENT_XML:
                struct.pack_into("<I", data, start + offset, declared)
            start += 4
    path.write_bytes(bytes(data))


def test_a_docx_whose_directory_understates_its_size_is_refused(tmp_path: Path) -> None:
    write_docx_bomb(tmp_path / "liar.docx", expanded_mb=30)
    lie_about_size(tmp_path / "liar.docx", declared=1000)  # no ratio, no size to see
    write_docx(tmp_path / "guide.docx")

    docs, errors = load(tmp_path, InputLimits())

    assert docs == ["guide.docx"]
    [error] = errors
    assert error.startswith(str(tmp_path / "liar.docx"))


def test_a_docx_part_over_the_size_cap_is_refused_while_counting(tmp_path: Path) -> None:
    write_docx_bomb(tmp_path / "big.docx", expanded_mb=3)
    write_docx(tmp_path / "guide.docx")
    limits = InputLimits(zip_max_member_bytes=2 * MB, zip_max_ratio=1e6)

    docs, errors = load(tmp_path, limits)

    assert docs == ["guide.docx"]
    [error] = errors
    assert "part word/document.xml expands to 3.0 MB" in error
    assert "ASSISTANT_INGEST_ZIP_MAX_MEMBER_MB" in error


def test_a_docx_over_the_total_cap_is_refused(tmp_path: Path) -> None:
    write_docx_bomb(tmp_path / "big.docx", expanded_mb=3)
    limits = InputLimits(zip_max_total_bytes=2 * MB, zip_max_ratio=1e6)

    _, [error] = load(tmp_path, limits)

    assert "ASSISTANT_INGEST_ZIP_MAX_TOTAL_MB" in error


def test_a_pdf_over_the_page_cap_is_refused_and_one_within_it_is_read(tmp_path: Path) -> None:
    write_pdf(tmp_path / "long.pdf", copies=3)  # two pages per copy
    short = tmp_path / "short"
    short.mkdir()
    write_pdf(short / "guide.pdf")

    _, [error] = load(tmp_path / "long.pdf", InputLimits(pdf_max_pages=4))
    docs, errors = load(short, InputLimits(pdf_max_pages=4))

    assert "more than the cap of 4 (ASSISTANT_INGEST_PDF_MAX_PAGES)" in error
    assert (docs, errors) == (["guide.pdf"], [])


def test_after_a_file_over_a_cap_the_next_file_gets_a_fresh_worker(tmp_path: Path) -> None:
    write_docx_bomb(tmp_path / "a_bomb.docx", expanded_mb=30)
    write_docx(tmp_path / "b_guide.docx")
    write_pdf(tmp_path / "c_guide.pdf")
    limits = InputLimits(zip_max_ratio=1e6, parse_max_memory_bytes=384 * MB)

    docs, [error] = load(tmp_path, limits)

    assert "memory cap" in error and "ASSISTANT_INGEST_PARSE_MAX_MEMORY_MB" in error
    assert docs == ["b_guide.docx", "c_guide.pdf"]


# A large process (an API server with its model loaded) reading a file whose error has nothing
# to do with memory.
LARGE_PARENT = """
import sys
from pathlib import Path
from assistant.errors import InputError
from assistant.ingestion.binary_parser import BinaryParser
from assistant.ingestion.input_limits import MB, InputLimits
ballast = b"x" * (400 * MB)  # resident, as a loaded model is
with BinaryParser(InputLimits(parse_max_memory_bytes=512 * MB)) as parser:
    try:
        parser.parse(Path(sys.argv[1]), "pdf")
    except InputError as exc:
        print(exc)
"""


def test_a_worker_started_by_a_large_process_reports_the_files_own_error(tmp_path: Path) -> None:
    write_scanned_pdf(tmp_path / "scan.pdf")

    done = subprocess.run(
        [sys.executable, "-c", LARGE_PARENT, str(tmp_path / "scan.pdf")],
        capture_output=True,
        text=True,
        check=True,
    )

    assert done.stdout.startswith("no text layer (a scanned PDF?)"), done.stdout

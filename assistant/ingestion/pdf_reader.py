"""Read a PDF's text layer into Markdown pages: larger type becomes headings, ruled tables
become pipe tables, and pages stay apart (form feeds) so each chunk knows its page."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pdfplumber

from assistant.errors import InputError
from assistant.ingestion.chunking import PAGE_BREAK
from assistant.ingestion.input_limits import InputLimits
from assistant.ingestion.markdown_text import escape_line, pipe_table

# A line is a heading when its type is this much larger than the body text's.
HEADING_SIZE_RATIO = 1.15
# Longer lines in large type are emphasised prose, not headings.
HEADING_MAX_CHARS = 120
# A first or last line on this share of the pages (of at least RUNNING_MIN_PAGES) is a running
# header or footer.
RUNNING_SHARE = 0.8
RUNNING_MIN_PAGES = 3
_DIGITS = re.compile(r"\d+")
# A vertical gap above a line larger than this share of its height starts a new paragraph.
PARAGRAPH_GAP_RATIO = 0.6


@dataclass(frozen=True)
class _Line:
    text: str
    size: float
    top: float
    bottom: float


@dataclass(frozen=True)
class _Table:
    markdown: str
    top: float


@dataclass(frozen=True)
class PdfText:
    title: str
    markdown: str  # one Markdown text per page, joined by PAGE_BREAK
    pages: int


def read_pdf(path: Path, limits: InputLimits) -> PdfText:
    """The Markdown of each page of `path`. Raises `InputError` for a file that is not
    a readable PDF, for one without a text layer (a scan): it would ingest as nothing, and
    for one of more pages than `limits` allow (counted before any page is read)."""
    try:
        with pdfplumber.open(path) as pdf:
            if len(pdf.pages) > limits.pdf_max_pages:
                raise InputError(
                    f"{len(pdf.pages)} pages, more than the cap of {limits.pdf_max_pages} "
                    "(ASSISTANT_INGEST_PDF_MAX_PAGES)"
                )
            pages = [_read_page(page) for page in pdf.pages]
            info = pdf.metadata
    except (OSError, InputError):
        raise
    # pdfminer meets a malformed file with whatever its parser trips over (KeyError,
    # TypeError, its own PSException...): any of them means this file, not the run, is bad.
    except Exception as exc:
        raise InputError(f"not a readable PDF ({exc or type(exc).__name__})") from None
    if not any(lines or tables for lines, tables in pages):
        raise InputError("no text layer (a scanned PDF?): run OCR on it first, e.g. with ocrmypdf")
    pages = _without_running_lines(pages)
    body = _body_size([line for lines, _ in pages for line in lines])
    levels = _heading_levels([line for lines, _ in pages for line in lines], body)
    rendered = [_render(lines, tables, levels) for lines, tables in pages]
    title = info.get("Title") if isinstance(info.get("Title"), str) else ""
    if not title:
        title = next((_first_heading(m) for m in rendered if _first_heading(m)), "")
    return PdfText(title=title, markdown=PAGE_BREAK.join(rendered), pages=len(pages))


def _read_page(page: Any) -> tuple[list[_Line], list[_Table]]:
    found = page.find_tables()
    tables = [_Table(pipe_table(t.extract()), t.bbox[1]) for t in found]
    text_only = page
    for table in found:
        text_only = text_only.outside_bbox(table.bbox)
    lines = [
        _Line(
            text=" ".join(line["text"].split()),
            size=max(char["size"] for char in line["chars"]),
            top=line["top"],
            bottom=line["bottom"],
        )
        for line in text_only.extract_text_lines(return_chars=True)
        if line["text"].strip() and line["chars"]
    ]
    return lines, [t for t in tables if t.markdown]


def _without_running_lines(
    pages: list[tuple[list[_Line], list[_Table]]],
) -> list[tuple[list[_Line], list[_Table]]]:
    """The pages without their running header and footer: a first or last line that recurs on
    most pages (its numbers aside, as in "Page 3 of 9"). Left in, a header set in larger type
    would read as a heading on every page, and "Page 3" would sit in every page's chunks."""
    if len(pages) < RUNNING_MIN_PAGES:
        return pages
    counts = Counter(_running_key(line) for lines, _ in pages for line in _ends(lines))
    running = {key for key, count in counts.items() if count >= RUNNING_SHARE * len(pages)}
    cleaned = []
    for lines, tables in pages:
        ends = _ends(lines)
        kept = [line for line in lines if line not in ends or _running_key(line) not in running]
        cleaned.append((kept, tables))
    return cleaned


def _ends(lines: list[_Line]) -> list[_Line]:
    """A page's first and last line (one line when it has only one)."""
    return lines[:1] + lines[1:][-1:]


def _running_key(line: _Line) -> str:
    return _DIGITS.sub("#", line.text)


def _body_size(lines: list[_Line]) -> float:
    """The type size that most characters are set in."""
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[round(line.size, 1)] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _heading_levels(lines: list[_Line], body: float) -> dict[float, int]:
    """Heading size -> Markdown level: the largest type is level 1."""
    sizes = {
        round(line.size, 1)
        for line in lines
        if line.size >= body * HEADING_SIZE_RATIO and len(line.text) <= HEADING_MAX_CHARS
    }
    return {size: level for level, size in enumerate(sorted(sizes, reverse=True)[:6], start=1)}


def _render(lines: list[_Line], tables: list[_Table], levels: dict[float, int]) -> str:
    """The page in reading order (top to bottom) as Markdown blocks."""
    blocks: list[tuple[float, str]] = [(t.top, t.markdown) for t in tables]
    paragraph: list[str] = []
    start = 0.0
    previous: _Line | None = None

    def close() -> None:
        if paragraph:
            blocks.append((start, "\n".join(paragraph)))
            paragraph.clear()

    for line in lines:
        level = levels.get(round(line.size, 1)) if len(line.text) <= HEADING_MAX_CHARS else None
        if level:
            close()
            blocks.append((line.top, f"{'#' * level} {line.text}"))
            previous = None
            continue
        height = line.bottom - line.top
        if previous is None or line.top - previous.bottom > PARAGRAPH_GAP_RATIO * height:
            close()
            start = line.top
        paragraph.append(escape_line(line.text))
        previous = line
    close()
    return "\n\n".join(text for _, text in sorted(blocks, key=lambda b: b[0]))


def _first_heading(markdown: str) -> str:
    for line in markdown.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""

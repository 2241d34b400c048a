"""Read a Word (.docx) file into Markdown: heading styles become headings, tables pipe tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from assistant.errors import InputError
from assistant.ingestion.input_limits import InputLimits, check_zip
from assistant.ingestion.markdown_text import escape_line, pipe_table


@dataclass(frozen=True)
class DocxText:
    title: str
    markdown: str


def read_docx(path: Path, limits: InputLimits) -> DocxText:
    """The Markdown of `path`; raises `InputError` when it is not a readable .docx, or when
    it expands past `limits` (checked before python-docx reads a byte of it)."""
    check_zip(path, limits)
    try:
        document = docx.Document(str(path))
    except OSError:
        raise
    # Not a zip, a zip without Word's parts, or parts that are not XML: python-docx, zipfile
    # and lxml each raise their own; any of them means this file, not the run, is bad.
    except Exception as exc:
        raise InputError(f"not a readable Word document ({exc or type(exc).__name__})") from None
    blocks: list[str] = []
    first_heading = ""
    for item in document.iter_inner_content():
        if isinstance(item, Table):
            blocks.append(pipe_table([[cell.text for cell in row.cells] for row in item.rows]))
            continue
        text = " ".join(item.text.split())
        if not text:
            continue
        level = _heading_level(item)
        if level:
            first_heading = first_heading or text
            blocks.append(f"{'#' * level} {text}")
        else:
            blocks.append(_paragraph(item, text))
    title = document.core_properties.title or first_heading
    return DocxText(title=title, markdown="\n\n".join(b for b in blocks if b))


def _heading_level(paragraph: Paragraph) -> int | None:
    """Word's "Title" and "Heading 1-6" styles (levels 7-9 fold into 6)."""
    name = paragraph.style.name if paragraph.style is not None else ""
    if name == "Title":
        return 1
    number = name.removeprefix("Heading ")
    return min(int(number), 6) if name.startswith("Heading ") and number.isdigit() else None


def _paragraph(paragraph: Paragraph, text: str) -> str:
    name = paragraph.style.name if paragraph.style is not None else ""
    if name.startswith("List Bullet"):
        return f"- {text}"
    if name.startswith("List Number"):
        return f"1. {text}"
    return escape_line(text)

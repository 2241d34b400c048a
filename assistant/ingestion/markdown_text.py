"""Write extracted text as Markdown that the Markdown chunker reads back as it was meant."""

from __future__ import annotations

import re
from collections.abc import Sequence

# Inline markup a quoted sentence must not carry to a customer: emphasis and links. Code spans
# stay: `make test` is what to type, and every interface shows backticks as code or as text.
_EMPHASIS = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*\)")

# A line that Markdown would read as a heading, list item, quote, fence or rule.
_MARKUP_START = re.compile(r"^(#{1,6}\s|[-+*>]|`{3}|~{3}|\d{1,9}[.)]\s|=+\s*$)")


def escape_line(text: str) -> str:
    """`text` as a line of a paragraph: markup at its start is escaped, so a PDF line such as
    "# of seats" or "1. Open the app" stays text of its paragraph."""
    return f"\\{text}" if _MARKUP_START.match(text) else text


def pipe_table(rows: Sequence[Sequence[str | None]]) -> str:
    """A Markdown pipe table of `rows`, the first being the header; empty rows are dropped.

    Cell text is put on one line and its pipes escaped, so the table stays one table.
    """
    cells = [[_cell(c) for c in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return ""
    width = max(len(row) for row in cells)
    cells = [row + [""] * (width - len(row)) for row in cells]
    lines = ["| " + " | ".join(row) + " |" for row in cells]
    lines.insert(1, "|" + " --- |" * width)
    return "\n".join(lines)


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def plain_inline(text: str) -> str:
    """`text` with its inline Markdown read as a person would: **bold** as its words, a link
    as its text. Answers quote passages; every interface shows them as text."""
    text = _LINK.sub(r"\1", text)
    return _EMPHASIS.sub(r"\2", text)

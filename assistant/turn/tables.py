"""Markdown pipe tables in passage text, read as answer units: one per row, with its header.

Every format the ingestion reads writes its tables as pipe tables (Markdown as written, HTML,
Word and ruled PDF tables through `markdown_text.pipe_table`), and a table is never split
across chunks, so a chunk holds whole tables. A fact in a table is a row, and a row means
nothing without the header above it: `| Pro | $9.99/month | 5 |` under
`| Plan | Price | Devices |` is read as "Plan: Pro; Price: $9.99/month; Devices: 5." That is
the text an extractive answer quotes, the reader scores against the question, and the citation
check finds again in the cited chunk (`table_rows` of the chunk's text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.turn.citations import strip_markers

# A GFM delimiter row: cells of dashes, with optional alignment colons, at least one pipe.
_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
# A pipe that separates cells (an escaped one, `\|`, is text of its cell).
_CELL_PIPE = re.compile(r"(?<!\\)\|")
# A qualifier in a cell, "(in person)", "[beta]".
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]")
# A wide row becomes pieces that each repeat the row's first cell; at most this many.
MAX_ROW_PIECES = 3
# Rows read per table: a table of thousands of rows stays one chunk, and every unit of a
# chunk is embedded when a turn reads it.
MAX_TABLE_ROWS = 200


@dataclass(frozen=True)
class TextPart:
    """A stretch of a paragraph: prose lines, or the row units of a table."""

    text: str = ""
    rows: tuple[str, ...] | None = None  # None: prose

    @property
    def is_table(self) -> bool:
        return self.rows is not None


def split_tables(paragraph: str, *, max_chars: int = 300) -> list[TextPart]:
    """`paragraph` as prose parts and tables, in order; each table as its row units.

    A table starts at a row of cells followed by a delimiter row (`| --- | --- |`) and runs
    over the lines with a pipe after it, as in GitHub Markdown.
    """
    lines = paragraph.split("\n")
    parts: list[TextPart] = []
    prose: list[str] = []
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and _is_table_start(lines[i], lines[i + 1]):
            end = i + 2
            while end < len(lines) and "|" in lines[end] and lines[end].strip():
                end += 1
            if prose:
                parts.append(TextPart("\n".join(prose)))
                prose = []
            header = _cells(lines[i])
            body = [_cells(line) for line in lines[i + 2 : end][:MAX_TABLE_ROWS]]
            units = [unit for row in body for unit in row_units(header, row, max_chars=max_chars)]
            parts.append(TextPart(rows=tuple(units)))
            i = end
            continue
        prose.append(lines[i])
        i += 1
    if prose:
        parts.append(TextPart("\n".join(prose)))
    return parts


def table_rows(text: str, *, max_chars: int = 300) -> list[str]:
    """The row units of every pipe table in `text`, in order."""
    return [
        unit
        for paragraph in re.split(r"\n\s*\n", text)
        for part in split_tables(paragraph, max_chars=max_chars)
        for unit in part.rows or ()
    ]


def row_units(header: list[str], row: list[str], *, max_chars: int = 300) -> list[str]:
    """One body row under `header` as plain text: "Header: cell; Header: cell."

    An empty cell is left out, a cell under an empty header is said alone, and a cell that
    repeats the one before it under the same header (a merged cell, as Word reports it) once.
    A row longer than `max_chars` is cut into pieces that each start with its first cell, so a
    fact in the twelfth column still reads with the row it belongs to; a row of only empty
    cells gives nothing.
    """
    pairs: list[str] = []
    for n, value in enumerate(row):
        name = header[n] if n < len(header) else ""
        pair = f"{name}: {value}" if name and value and name != value else value
        if pair and (not pairs or pairs[-1] != pair):
            pairs.append(pair)
    if not pairs:
        return []
    whole = _sentence("; ".join(pairs))
    if len(whole) <= max_chars:
        return [whole]
    key, rest = pairs[0], pairs[1:]
    key = _clip(key, max_chars // 3)
    room = max_chars - len(key) - 3  # "; " after the key and the closing "."
    pieces: list[list[str]] = []
    for pair in rest:
        pair = _clip(pair, room)
        if pieces and len("; ".join([*pieces[-1], pair])) <= room:
            pieces[-1].append(pair)
        elif len(pieces) < MAX_ROW_PIECES:
            pieces.append([pair])
        else:
            break
    return [_sentence("; ".join([key, *piece])) for piece in pieces] or [_sentence(key)]


def key_cell(unit: str) -> str:
    """The first cell of a row unit with its column name, as `row_units` writes it ("Plan:
    Growth; ..." -> "Plan: Growth"; "Growth" where the column has no name)."""
    return unit.split("; ", 1)[0].rstrip(".")


def row_key(unit: str) -> str:
    """The first cell of a row unit as `row_units` writes it ("Plan: Growth; ..." -> "Growth"),
    without what it says in brackets: "GP consultation (in person)" is asked about as "GP
    consultation"."""
    return " ".join(_BRACKETED.sub(" ", key_cell(unit).split(": ", 1)[-1]).split())


def _is_table_start(line: str, following: str) -> bool:
    return "|" in line and bool(_DELIMITER.match(following)) and "|" in following


def _cells(line: str) -> list[str]:
    """The cells of a table line, outer pipes dropped, `\\|` read as `|`, markers removed."""
    text = line.strip()
    if text.startswith("|"):
        text = text[1:]
    if text.endswith("|") and not text.endswith("\\|"):
        text = text[:-1]
    return [
        " ".join(strip_markers(cell.replace("\\|", "|")).split()) for cell in _CELL_PIPE.split(text)
    ]


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)].rstrip() + "…"

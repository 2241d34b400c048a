"""Candidate answers for extractive mode: passage sentences and table rows, each ending in its
marker. A table row is read with its header ("Plan: Pro; Price: $9.99/month."), see `tables`."""

from __future__ import annotations

import re

from assistant.ingestion.markdown_text import plain_inline
from assistant.schemas import RetrievedChunk
from assistant.turn.citations import strip_markers
from assistant.turn.instructions import instructs_the_assistant
from assistant.turn.sentences import split_sentences
from assistant.turn.tables import split_tables

PARAGRAPH = re.compile(r"\n\s*\n")
# A list item is an answer of its own, not a clause of the paragraph around it.
LIST_ITEM = re.compile(r"(?:^|\n)\s*(?:[-*+]|\d+[.)])\s+")
MIN_CHARS = 20


def chunk_sentences(chunk: RetrievedChunk, *, max_chars: int = 300) -> list[str]:
    """The sentences and table rows of `chunk` that read as an answer on their own, in passage
    order (`chunk_units` without the kinds)."""
    return [text for text, _ in chunk_units(chunk, max_chars=max_chars)]


def chunk_units(chunk: RetrievedChunk, *, max_chars: int = 300) -> list[tuple[str, bool]]:
    """The answer units of `chunk` in passage order, as (text, is a table row).

    Sentences of its prose and list items, and each row of its tables read with the table's
    header. Code and headings are left out; so are markers written in the passage (the only
    markers an answer carries are the ones the assistant adds, see strip_markers).
    """
    units: list[tuple[str, bool]] = []
    for paragraph in PARAGRAPH.split(chunk.text):
        for part in split_tables(paragraph, max_chars=max_chars):
            if part.rows is not None:
                units.extend(
                    (row, True)
                    for row in part.rows
                    if not instructs_the_assistant(row, chunk.injections)
                )
                continue
            if _is_structure(part.text):
                continue
            for unit in LIST_ITEM.split(part.text):
                # Markers go first: a passage's own `[n]` ends no sentence (it is no citation).
                text = plain_inline(strip_markers(" ".join(unit.split())))
                for sentence in _joined_fragments(split_sentences(text)):
                    # A sentence that talks to the assistant is never an answer to quote.
                    if MIN_CHARS <= len(sentence) <= max_chars and not instructs_the_assistant(
                        sentence, chunk.injections
                    ):
                        units.append((sentence, False))
    return units


def _joined_fragments(pieces: list[str]) -> list[str]:
    """`pieces` with each one shorter than MIN_CHARS joined to the one after it.

    A short piece followed by more text is a step ("Run `make test`.") or a split after an
    abbreviation ("Timothy P."); either way it belongs with its neighbour, not dropped.
    """
    joined: list[str] = []
    pending = ""
    for piece in pieces:
        piece = f"{pending} {piece}".strip()
        pending = piece if len(piece) < MIN_CHARS else ""
        if not pending:
            joined.append(piece)
    return [*joined, pending] if pending else joined


def answer_candidates(
    chunks: list[RetrievedChunk], *, max_chars: int = 300, limit: int = 40
) -> list[str]:
    """Sentences and table rows of `chunks` as `unit [n]` (n = 1-based chunk number), in
    passage order."""
    candidates = [
        f"{sentence} [{n}]"
        for n, chunk in enumerate(chunks, 1)
        for sentence in chunk_sentences(chunk, max_chars=max_chars)
    ]
    return candidates[:limit]


def _is_structure(paragraph: str) -> bool:
    head = paragraph.lstrip()
    return head.startswith(("|", "```", "#", "    ", "\t")) or not head

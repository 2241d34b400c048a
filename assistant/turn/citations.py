"""Turn `[n]` markers of a generated answer into citations of chunks retrieved this turn."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PurePath

from pydantic import BaseModel

from assistant.schemas import Citation, InjectionFlag, RetrievedChunk
from assistant.turn.instructions import without_instructions

MARKER = re.compile(r"\s*\[(\d{1,3})\]")
QUOTE_CHARS = 200


class CitedText(BaseModel):
    text: str
    citations: list[Citation]
    removed: int


def marker_regex(n_chunks: int, max_sentences: int = 2, max_sentence_chars: int = 200) -> str:
    """A regex for answers whose every sentence ends with a marker of one of `n_chunks`.

    Both backends decode under it (vLLM structured outputs, xgrammar in process), so a small
    model cannot forget the markers or cite a passage it was not shown.
    """
    if n_chunks < 1:
        raise ValueError("an answer needs at least one chunk to cite")
    numbers = "|".join(str(n) for n in range(1, n_chunks + 1))
    sentence = rf"[^\[\]\n]{{2,{max_sentence_chars}}} \[({numbers})\]\.?"
    return rf"{sentence}( {sentence}){{0,{max_sentences - 1}}}"


def strip_markers(text: str) -> str:
    """`text` without anything `resolve_citations` would read as a marker.

    For passage text numbered in a prompt or copied into an answer: a `[n]` written in a
    document is not a citation, and must not become one. A planted "policy [2]" would
    otherwise survive the check as a valid citation of whichever chunk came second.
    """
    # Repeated, since removing one marker may join another: "[1[2]]" -> "[1]".
    while (stripped := MARKER.sub("", text)) != text:
        text = stripped
    return text


def resolve_citations(text: str, chunks: list[RetrievedChunk]) -> CitedText:
    """Keep the markers that point at `chunks` (1-based), drop the others and count them."""
    removed = 0
    cited: dict[int, Citation] = {}

    def keep_or_drop(match: re.Match[str]) -> str:
        nonlocal removed
        n = int(match.group(1))
        if not 1 <= n <= len(chunks):
            removed += 1
            return ""
        chunk = chunks[n - 1]
        cited.setdefault(
            n,
            Citation(
                n=n,
                doc_id=chunk.doc_id,
                chunk_id=chunk.chunk_id,
                title=chunk.title or chunk.section,
                url=chunk.url or source_name(chunk.source),
                page=chunk.page,
                quote=_quote(chunk.text, chunk.injections),
            ),
        )
        return match.group(0)

    cleaned = MARKER.sub(keep_or_drop, text).strip()
    return CitedText(
        text=cleaned, citations=sorted(cited.values(), key=lambda c: c.n), removed=removed
    )


def _quote(text: str, flags: Sequence[InjectionFlag] = ()) -> str:
    flat = " ".join(without_instructions(text, flags).split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1].rstrip() + "…"


def source_name(source: str) -> str:
    """A document's source as a customer may see it: the file's name (`guide.pdf`,
    `faq.jsonl:12`), never the folder it was ingested from on the server."""
    return PurePath(source).name if source else ""

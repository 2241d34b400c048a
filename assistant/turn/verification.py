"""Sentence-level citation verification: is each answer sentence supported by what it cites?

A marker that points at a retrieved chunk is valid (`citations.py`), but the sentence before it
may still say something the chunk does not. Each sentence is scored against the chunks it cites
with two offline signals: lexical support (the share of the sentence's content words, stemmed
as the sparse index stems them, that the cited chunks contain) and semantic support (the best
cosine between the sentence and a sentence or table row of the cited chunks, by the knowledge
base's own embedder; a row is read with its header, as an extractive answer quotes it). A
sentence whose mean support falls below the setting is unsupported; a sentence with no marker
cites nothing and is unsupported too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from assistant.knowledge.embedder import Embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.schemas import RetrievedChunk
from assistant.turn.citations import MARKER
from assistant.turn.sentences import split_sentences
from assistant.turn.tables import table_rows

_MARKER_NUMBER = re.compile(r"\[(\d{1,3})\]")
# Chunk sentences shorter than this add noise to the best-cosine search, not evidence.
_MIN_CHUNK_SENTENCE = 20


class SentenceCheck(BaseModel):
    """One answer sentence and how well the chunks it cites support it."""

    text: str
    cites: list[int] = Field(description="The [n] markers of the sentence.")
    lexical: float = Field(ge=0.0, le=1.0)
    semantic: float = Field(ge=-1.0, le=1.0)
    support: float
    supported: bool


class CitationVerifier:
    """Scores answer sentences against their cited chunks; `threshold` decides support."""

    def __init__(
        self, embedder: Embedder, sparse: SparseEncoder | None = None, *, threshold: float
    ) -> None:
        self.embedder = embedder
        self.sparse = sparse or SparseEncoder()
        self.threshold = threshold

    def check_sentence(self, sentence: str, chunks: Sequence[RetrievedChunk]) -> SentenceCheck:
        """One sentence (with its markers), scored against the chunks its markers name."""
        cites = [int(n) for n in _MARKER_NUMBER.findall(sentence)]
        cited = [chunks[n - 1] for n in dict.fromkeys(cites) if 1 <= n <= len(chunks)]
        claim = MARKER.sub("", sentence).strip()
        lexical = self._lexical(claim, cited)
        semantic = self._semantic(claim, cited)
        support = (lexical + max(semantic, 0.0)) / 2
        return SentenceCheck(
            text=sentence,
            cites=cites,
            lexical=round(lexical, 4),
            semantic=round(semantic, 4),
            support=round(support, 4),
            supported=bool(cited) and support >= self.threshold,
        )

    def _lexical(self, claim: str, cited: Sequence[RetrievedChunk]) -> float:
        words = set(self.sparse.tokenize(claim))
        if not words or not cited:
            return 0.0
        source = {token for chunk in cited for token in self.sparse.tokenize(chunk.text)}
        return len(words & source) / len(words)

    def _semantic(self, claim: str, cited: Sequence[RetrievedChunk]) -> float:
        pieces = [
            piece
            for chunk in cited
            for piece in split_sentences(chunk.text)
            if len(piece) >= _MIN_CHUNK_SENTENCE
        ]
        # A table row is evidence however short ("Size: S; Price: $5."), and is split as an
        # extractive answer that quotes it is (a cell may hold two sentences).
        pieces += [
            piece
            for chunk in cited
            for row in table_rows(chunk.text)
            for piece in dict.fromkeys([row, *split_sentences(row)])
        ]
        pieces = pieces or [chunk.text for chunk in cited]
        if not claim or not pieces:
            return 0.0
        vectors = self.embedder.embed_documents([claim, *pieces])
        return float(np.max(vectors[1:] @ vectors[0]))

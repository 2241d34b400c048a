"""The `grade` step's judgement: do the retrieved chunks answer the question, and which ones?

`FittedJudge` is trained on real answerability labels (`assistant adapters fit-judge`): a turn
head reads the whole search and says whether it answers, a chunk head says which chunks do.
`CosineGate` is the judgement the graph made before there was a judge (every chunk whose
cosine with the query clears a floor), kept as the fallback and as the A/B baseline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field

from assistant.adapters.heads import LinearHead, load_head
from assistant.errors import InputError
from assistant.evidence import FEATURES, TURN_FEATURES, EvidenceReader, turn_features
from assistant.schemas import RetrievedChunk

logger = logging.getLogger(__name__)

TURN_HEAD = "turn"
CHUNK_HEAD = "chunk"


class Judgement(BaseModel):
    """Whether the chunks answer, and the 0-based indices of those that do (in rank order)."""

    answerable: bool
    kept: list[int] = Field(default_factory=list)
    confidence: float = Field(ge=0.0, le=1.0, description="P(the search answers the question).")


class Judge(Protocol):
    def judge(self, question: str, context: str, chunks: Sequence[RetrievedChunk]) -> Judgement: ...


class CosineGate:
    """Every chunk whose dense cosine with the query is at least `floor` (the old gate)."""

    def __init__(self, floor: float) -> None:
        self.floor = floor

    def judge(self, question: str, context: str, chunks: Sequence[RetrievedChunk]) -> Judgement:
        kept = [
            i
            for i, c in enumerate(chunks)
            if c.dense_score is not None and c.dense_score >= self.floor
        ]
        return Judgement(answerable=bool(kept), kept=kept, confidence=1.0 if kept else 0.0)


class FittedJudge:
    """The fitted turn and chunk heads over the evidence the knowledge base's embedder reads."""

    def __init__(self, turn: LinearHead, chunk: LinearHead, reader: EvidenceReader) -> None:
        if list(turn.inputs) != list(TURN_FEATURES) or list(chunk.inputs) != list(FEATURES):
            raise ValueError("the judge's heads were fitted on other features; refit them")
        self.turn = turn
        self.chunk = chunk
        self.reader = reader

    @classmethod
    def load(cls, folder: Path, reader: EvidenceReader) -> FittedJudge:
        """The heads in `folder`/turn and `folder`/chunk (`InputError` when missing or stale)."""
        name = reader.embedder.name
        return cls(
            load_head(folder / TURN_HEAD, "judge", embedder=name),
            load_head(folder / CHUNK_HEAD, "judge", embedder=name),
            reader,
        )

    def judge(self, question: str, context: str, chunks: Sequence[RetrievedChunk]) -> Judgement:
        if not chunks:
            return Judgement(answerable=False, confidence=0.0)
        evidence = self.reader.read(question, context, chunks)
        confidence = float(self.turn.probabilities(turn_features(evidence.features))[0, 1])
        if confidence < self.turn.threshold:
            return Judgement(answerable=False, confidence=confidence)
        relevance = self.chunk.probabilities(evidence.features)[:, 1]
        # The best chunk is kept whatever its own score: the turn head said the search answers.
        kept = [i for i, p in enumerate(relevance) if p >= self.chunk.threshold]
        best = int(np.argmax(relevance))
        return Judgement(
            answerable=True, kept=sorted({best, *kept}), confidence=round(confidence, 4)
        )


def open_judge(kind: str, folder: Path, reader: EvidenceReader | None, floor: float) -> Judge:
    """The judge the settings ask for (`fitted` or `cosine`); a fitted judge that cannot be
    loaded (missing, broken, another embedder) falls back to the cosine gate with a warning."""
    if kind == "fitted" and reader is not None:
        try:
            return FittedJudge.load(folder, reader)
        except (InputError, ValueError) as exc:
            logger.warning("answerability judge not used, falling back to the cosine gate: %s", exc)
    return CosineGate(floor)

"""The `grade` step's judgement: do the retrieved chunks answer the question, and which ones?

`FittedJudge` is trained on real answerability labels (`assistant adapters fit-judge`): a turn
head reads the whole search and says whether it answers, a chunk head says which chunks do,
and a clarify head says whether the question is too vague to answer as asked (it reads the
question as the router does, plus how the search spread: a vague question finds many pages).
`CosineGate` is the judgement the graph made before there was a judge (every chunk whose
cosine with the query clears a floor), kept as the fallback and as the A/B baseline. The same
floor stays in front of the fitted judge as a pre-filter: a search with nothing that close to the
question found nothing about it, and is declined, not asked about (the clarify head, fitted on
questions a knowledge base is about, read an off-topic search's spread as vagueness and asked
which of some unrelated pages was meant).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field

from assistant.errors import InputError
from assistant.knowledge.embedder import Embedder
from assistant.schemas import RetrievedChunk
from assistant.turn.evidence import (
    FEATURES,
    SPREAD_FEATURES,
    TURN_FEATURES,
    EvidenceReader,
    spread_features,
    table_page,
    turn_features,
)
from assistant.turn.heads import LinearHead, load_head
from assistant.turn.identifiers import (
    capitalised_words,
    identifiers,
    missing_names,
    names_any,
    names_row,
)
from assistant.turn.routing import router_inputs, router_rows
from assistant.turn.tables import table_rows

logger = logging.getLogger(__name__)

# Two names are of a kind at this cosine of the packaged embedder: weekdays 0.73-0.83,
# neighbouring countries 0.66-0.71; a brand and the brands beside it 0.1-0.3 (it does not know
# them), "NASDAQ" and "NYSE" 0.48. Set from such pairs, not from the evaluation questions.
KIN_MIN_SIMILARITY = 0.6
# The capitalised words of a search read as candidates: one embedding call stays small.
MAX_KIN_CANDIDATES = 64
TURN_HEAD = "turn"
CHUNK_HEAD = "chunk"
CLARIFY_HEAD = "clarify"


class Judgement(BaseModel):
    """Whether the chunks answer, and the 0-based indices of those that do (in rank order)."""

    answerable: bool
    kept: list[int] = Field(default_factory=list)
    confidence: float = Field(ge=0.0, le=1.0, description="P(the search answers the question).")
    clarify: bool = Field(False, description="Too vague to answer as asked: ask which one.")
    hedged: bool = Field(
        False, description="Answerable, but not confidently: answer with a hedge and a person."
    )


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


def clarify_inputs(dim: int) -> list[str]:
    """The clarify head's input names: the router's, then the search's turn and spread rows."""
    return [*router_inputs(dim), *TURN_FEATURES, *SPREAD_FEATURES]


def clarify_rows(
    embedder: Embedder, questions: Sequence[str], contexts: Sequence[str], searched: np.ndarray
) -> np.ndarray:
    """One clarify-head row per (question, earlier user turn, `search_row` of its search)."""
    asked = router_rows(embedder, list(questions), list(contexts))
    return np.concatenate([asked, np.atleast_2d(searched)], axis=1)


def search_row(features: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """What the clarify head reads of a search: its turn row, then its spread row."""
    return np.concatenate([turn_features(features), spread])


class FittedJudge:
    """The fitted turn, chunk and (optional) clarify heads over the evidence the knowledge
    base's embedder reads."""

    def __init__(
        self,
        turn: LinearHead,
        chunk: LinearHead,
        reader: EvidenceReader,
        clarify: LinearHead | None = None,
        floor: float | None = None,
        *,
        answer_at: float | None = None,
        confident_at: float | None = None,
        strict: bool = True,
    ) -> None:
        if list(turn.inputs) != list(TURN_FEATURES) or list(chunk.inputs) != list(FEATURES):
            raise ValueError("the judge's heads were fitted on other features; refit them")
        if clarify is not None and clarify.inputs != clarify_inputs(reader.embedder.dim):
            raise ValueError("the clarify head was fitted on other features; refit the judge")
        self.turn = turn
        self.chunk = chunk
        self.clarify = clarify
        self.reader = reader
        self.floor = floor
        self.answer_at, self.confident_at = judge_bands(turn, answer_at, confident_at, strict)

    @classmethod
    def load(
        cls,
        folder: Path,
        reader: EvidenceReader,
        *,
        clarify: bool = True,
        floor: float | None = None,
    ) -> FittedJudge:
        """The heads in `folder`/turn, `folder`/chunk and, unless `clarify` is off,
        `folder`/clarify (`InputError` when turn or chunk is missing or stale; without a
        clarify head the judge never clarifies, with a warning: heads fitted before it existed
        still load). A search whose best dense cosine is below `floor` is declined unread; the
        thresholds are the turn head's own (`with_choices` sets others)."""
        name = reader.embedder.name
        vague = None
        if clarify and (folder / CLARIFY_HEAD).exists():
            vague = load_head(folder / CLARIFY_HEAD, "judge", embedder=name)
        elif clarify:
            logger.warning(
                "%s: no clarify head; the grade step will not ask clarifying "
                "questions (refit with `assistant adapters fit-judge`)",
                folder,
            )
        return cls(
            load_head(folder / TURN_HEAD, "judge", embedder=name),
            load_head(folder / CHUNK_HEAD, "judge", embedder=name),
            reader,
            vague,
            floor,
        )

    def judge(self, question: str, context: str, chunks: Sequence[RetrievedChunk]) -> Judgement:
        if not chunks or self._off_topic(question, chunks):
            return Judgement(answerable=False, confidence=0.0)
        evidence = self.reader.read(question, context, chunks)
        confidence = float(self.turn.probabilities(turn_features(evidence.features))[0, 1])
        if self.clarify is not None:
            searched = search_row(evidence.features, spread_features(evidence))
            row = clarify_rows(self.reader.embedder, [question], [context], searched)
            if self.clarify.probabilities(row)[0, 1] >= self.clarify.threshold:
                return Judgement(answerable=False, clarify=True, confidence=round(confidence, 4))
        # A name the question asks about that the search never says: the topic, not the answer.
        # What was found can answer it only by what it leaves out ("Monday to Saturday" for
        # Sunday), so it is answered, hedged, when the search is otherwise a confident one or
        # names things of the same kind; else declined ("QuickBooks" over pages about invoices).
        said = [" ".join([c.title, c.section, c.text]) for c in chunks]
        missing = missing_names(question, said)
        if confidence < self.answer_at or (
            missing and confidence < self.confident_at and not self._names_kin(missing, said)
        ):
            return Judgement(answerable=False, confidence=confidence)
        relevance = self.chunk.probabilities(evidence.features)[:, 1]
        # The best chunk is kept whatever its own score: the turn head said the search answers.
        kept = [i for i, p in enumerate(relevance) if p >= self.chunk.threshold]
        best = int(np.argmax(relevance))
        return Judgement(
            answerable=True,
            kept=sorted({best, *kept}),
            confidence=round(confidence, 4),
            hedged=confidence < self.confident_at or bool(missing),
        )

    def with_choices(
        self,
        *,
        clarify: bool,
        floor: float | None,
        answer_at: float | None,
        confident_at: float | None,
        strict: bool = False,
    ) -> FittedJudge:
        """The same heads with a run's choices (`None` thresholds: the heads' own; as
        `judge_bands` takes them, `strict` or not)."""
        return FittedJudge(
            self.turn,
            self.chunk,
            self.reader,
            self.clarify if clarify else None,
            floor,
            answer_at=answer_at,
            confident_at=confident_at,
            strict=strict,
        )

    def _names_kin(self, missing: frozenset[str], said: Sequence[str]) -> bool:
        """Whether, for every missing name, the chunks name something of its kind (a weekday
        for a weekday, a country for a country), by the embedder's cosine of the two words."""
        words = [w for w in capitalised_words(said, MAX_KIN_CANDIDATES) if w not in missing]
        if not words:
            return False
        asked = sorted(missing)
        vectors = self.reader.embedder.embed_documents([*asked, *words])
        closest = (vectors[len(asked) :] @ vectors[: len(asked)].T).max(axis=0)
        return bool((closest >= KIN_MIN_SIMILARITY).all())

    def _off_topic(self, question: str, chunks: Sequence[RetrievedChunk]) -> bool:
        scores = [c.dense_score for c in chunks if c.dense_score is not None]
        if self.floor is None or not scores or max(scores) >= self.floor:
            return False
        # A chunk naming the error code or model number the question names, or holding the
        # table row it names, is on topic.
        named = identifiers(question)
        return not any(
            names_any(c.text, named)
            or any(names_row(question, row, table_page(c)) for row in table_rows(c.text))
            for c in chunks
        )


def judge_bands(
    turn: LinearHead, answer_at: float | None, confident_at: float | None, strict: bool = True
) -> tuple[float, float]:
    """(answer at, answer plainly at): the chosen values, else the turn head's fitted ones (a
    head fitted before there were two bands never hedges). A chosen plain-answer threshold
    below the one at which the turn answers at all is an `InputError` when `strict` (the
    settings, at start-up); a run's choice is raised to it (0 = never hedge)."""
    answer = turn.threshold if answer_at is None else answer_at
    if confident_at is None:
        return answer, max(answer, turn.confident_at if turn.confident_at is not None else answer)
    if confident_at < answer and not strict:
        return answer, answer
    if confident_at < answer:
        raise InputError(
            f"ASSISTANT_JUDGE_CONFIDENT_AT ({confident_at}) is below the probability at which "
            f"the turn answers at all ({answer}, "
            f"{'ASSISTANT_JUDGE_ANSWER_AT' if answer_at is not None else 'the judge head'})"
        )
    return answer, confident_at


def open_judge(
    kind: str,
    folder: Path,
    reader: EvidenceReader | None,
    floor: float,
    *,
    clarify: bool = True,
    answer_at: float | None = None,
    confident_at: float | None = None,
) -> Judge:
    """The judge the settings ask for (`fitted` or `cosine`, both with `floor` as the cosine a
    chunk needs; `clarify` off leaves the clarify head out; the thresholds as `judge_bands`);
    a fitted judge that cannot be loaded (missing, broken, another embedder) falls back to the
    cosine gate with a warning. Thresholds out of order are an `InputError`, never a fallback."""
    if kind == "fitted" and reader is not None:
        try:
            judge = FittedJudge.load(folder, reader, clarify=clarify, floor=floor)
        except (InputError, ValueError) as exc:
            logger.warning("answerability judge not used, falling back to the cosine gate: %s", exc)
        else:
            return judge.with_choices(
                clarify=clarify,
                floor=floor,
                answer_at=answer_at,
                confident_at=confident_at,
                strict=True,
            )
    return CosineGate(floor)

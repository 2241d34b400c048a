"""What the retrieved chunks offer a question: the signals the judgement and the answer use.

For one question in its conversation and the numbered chunks of a search, each chunk's
sentences are embedded once; from them come per-chunk features (how close its best sentence is
to the question, how many of the question's words it contains, above all the words the
conversation has not used yet, its rank) and the sentences an extractive answer is made of.
The same code computes the features when a head is fitted (`assistant adapters fit-judge`) and
when a turn is judged, so the two cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from assistant.answer_candidates import chunk_sentences
from assistant.embedder import Embedder
from assistant.schemas import RetrievedChunk
from assistant.sparse import SparseEncoder

FEATURES: tuple[str, ...] = (
    "dense",
    "best_sentence",
    "best_sentence_in_context",
    "mean_top2_sentences",
    "coverage",
    "new_word_coverage",
    "reciprocal_rank",
    "best_sentence_vs_top",
    "coverage_vs_top",
    "question_words",
    "new_words",
    "context_words",
)
"""The judgement's features, in the order the fitted head's weights follow."""

READER_FEATURE = "reader"
"""The answer reader's logit for a chunk (`assistant.adapters.reader`): appended to `FEATURES`
when the evidence reader has one, and the heads fitted with it expect it."""


class AnswerReader(Protocol):
    """Reads each chunk together with the question: a score per chunk, higher = answers."""

    def scores(self, question: str, context: str, chunks: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Evidence:
    """The chunks of one search, read against one question.

    `sentences[i]` are chunk i's sentences and `similarity[i]` their cosines with the question;
    `features` has one row per chunk, columns as `FEATURES`.
    """

    chunks: list[RetrievedChunk]
    sentences: list[list[str]]
    similarity: list[np.ndarray]
    features: np.ndarray


class EvidenceReader:
    """Reads chunks against a question with the knowledge base's own embedder and stemmer."""

    def __init__(
        self,
        embedder: Embedder,
        sparse: SparseEncoder | None = None,
        answer_reader: AnswerReader | None = None,
    ) -> None:
        self.embedder = embedder
        self.sparse = sparse or SparseEncoder()
        self.answer_reader = answer_reader

    @property
    def features(self) -> tuple[str, ...]:
        """The columns `read` returns: `FEATURES`, and the reader's score when there is one."""
        return (*FEATURES, READER_FEATURE) if self.answer_reader is not None else FEATURES

    def without_answer_reader(self) -> EvidenceReader:
        return EvidenceReader(self.embedder, self.sparse)

    def read(self, question: str, context: str, chunks: Sequence[RetrievedChunk]) -> Evidence:
        """`context` is the conversation's earlier user turns (may be empty)."""
        chunks = list(chunks)
        sentences = [chunk_sentences(chunk) or [chunk.text] for chunk in chunks]
        flat = [s for group in sentences for s in group]
        queries = [question, f"{context} {question}".strip()]
        vectors = self.embedder.embed_documents([*queries, *flat])
        asked, in_context, pieces = vectors[0], vectors[1], vectors[2:]
        similarity: list[np.ndarray] = []
        similarity_in_context: list[np.ndarray] = []
        start = 0
        for group in sentences:
            block = pieces[start : start + len(group)]
            similarity.append(block @ asked)
            similarity_in_context.append(block @ in_context)
            start += len(group)
        words = set(self.sparse.tokenize(question))
        known = set(self.sparse.tokenize(context))
        new = words - known
        rows = []
        for rank, (chunk, sims, sims_c) in enumerate(
            zip(chunks, similarity, similarity_in_context, strict=True), 1
        ):
            held = set(self.sparse.tokenize(chunk.text))
            top2 = np.sort(sims)[-2:]
            rows.append(
                [
                    chunk.dense_score or 0.0,
                    float(sims.max()),
                    float(sims_c.max()),
                    float(top2.mean()),
                    len(words & held) / len(words) if words else 0.0,
                    len(new & held) / len(new) if new else 1.0,
                    1.0 / rank,
                    0.0,
                    0.0,
                    math.log1p(len(words)),
                    math.log1p(len(new)),
                    math.log1p(len(known)),
                ]
            )
        features = np.asarray(rows, dtype=np.float64).reshape(len(chunks), len(FEATURES))
        if len(chunks):
            best, cover = FEATURES.index("best_sentence"), FEATURES.index("coverage")
            features[:, FEATURES.index("best_sentence_vs_top")] = (
                features[:, best] - features[:, best].max()
            )
            features[:, FEATURES.index("coverage_vs_top")] = (
                features[:, cover] - features[:, cover].max()
            )
        if self.answer_reader is not None:
            scores = self.answer_reader.scores(question, context, [c.text for c in chunks])
            features = np.c_[features, np.asarray(scores, dtype=np.float64).reshape(len(chunks))]
        return Evidence(chunks, sentences, similarity, features)


def turn_names(features: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"max_{name}" for name in features)


TURN_FEATURES: tuple[str, ...] = turn_names(FEATURES)
"""The turn-level features: each chunk feature's best value over the search. Means and
best-vs-second margins were tried and dropped: they depend on how many chunks a search
returns (a knowledge base of two documents returns two), which the training searches did not
vary, and a clear answer in a one-chunk search was declined."""


def turn_features(features: np.ndarray) -> np.ndarray:
    """One row for the whole search, from the per-chunk rows (columns as `turn_names` of the
    chunk columns; the reader's best chunk score is its column's maximum too)."""
    if not len(features):
        return np.zeros(features.shape[1] if features.ndim == 2 else len(TURN_FEATURES))
    return features.max(axis=0)

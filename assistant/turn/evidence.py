"""What the retrieved chunks offer a question: the signals the judgement and the answer use.

For one question in its conversation and the numbered chunks of a search, each chunk's
sentences are embedded once; from them come per-chunk features (how close its best sentence is
to the question, how many of the question's words it contains, above all the words the
conversation has not used yet, its rank) and the sentences an extractive answer is made of.
A chunk's own heading (the last part of its section path) is read with its sentences: help
pages put the answer's subject in the heading ("Run the tests") and the steps below it ("Run
`make test`."), and a chunk stripped of its heading looked unanswered. The heading counts for
the features only, never as a sentence of the answer. Chunks without a section (plain text and
JSONL, as the training tasks' corpora) read exactly as before.
The same code computes the features when a head is fitted (`assistant adapters fit-judge`) and
when a turn is judged, so the two cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.ingestion.chunking import SECTION_SEPARATOR
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.schemas import RetrievedChunk
from assistant.turn.answer_candidates import chunk_units
from assistant.turn.identifiers import asks_of_row, identifiers, names_any, names_row

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
IDENTIFIER_MATCH = 1.0
"""The cosine a unit naming the question's identifier, or a table row whose first cell the
question names, is read at (see `identifiers`)."""


@dataclass(frozen=True)
class Evidence:
    """The chunks of one search, read against one question.

    `sentences[i]` are chunk i's sentences and `similarity[i]` their cosines with the question;
    `features` has one row per chunk, columns as `FEATURES`; `rows[i]` are the indexes of chunk
    i's sentences that are table rows (read with their header, see `tables`); `headings[i]` is
    the cosine of chunk i's own heading with the question (None without a heading);
    `in_context[i]` are chunk i's sentences' cosines with the earlier user turn and the question.
    """

    chunks: list[RetrievedChunk]
    sentences: list[list[str]]
    similarity: list[np.ndarray]
    features: np.ndarray
    rows: list[frozenset[int]] = field(default_factory=list)
    headings: list[float | None] = field(default_factory=list)
    in_context: list[np.ndarray] = field(default_factory=list)

    def heading_similarity(self, chunk: int) -> float | None:
        return self.headings[chunk] if chunk < len(self.headings) else None

    def is_row(self, chunk: int, index: int) -> bool:
        return chunk < len(self.rows) and index in self.rows[chunk]


class EvidenceReader:
    """Reads chunks against a question with the knowledge base's own embedder and stemmer."""

    def __init__(self, embedder: Embedder, sparse: SparseEncoder | None = None) -> None:
        self.embedder = embedder
        self.sparse = sparse or SparseEncoder()

    def read(self, question: str, context: str, chunks: Sequence[RetrievedChunk]) -> Evidence:
        """`context` is the conversation's earlier user turns (may be empty)."""
        chunks = list(chunks)
        units = [chunk_units(chunk) for chunk in chunks]
        sentences = [
            [text for text, _ in group] or [chunk.text]
            for group, chunk in zip(units, chunks, strict=True)
        ]
        table_rows = [frozenset(i for i, (_, row) in enumerate(group) if row) for group in units]
        headings = [_heading(chunk) for chunk in chunks]
        read = [[*group, *heading] for group, heading in zip(sentences, headings, strict=True)]
        flat = [s for group in read for s in group]
        queries = [question, f"{context} {question}".strip()]
        vectors = self.embedder.embed_documents([*queries, *flat])
        asked, in_context, pieces = vectors[0], vectors[1], vectors[2:]
        similarity: list[np.ndarray] = []
        similarity_in_context: list[np.ndarray] = []
        start = 0
        for group in read:
            block = pieces[start : start + len(group)]
            # Row by row, not a matrix product: BLAS rounds a row's product by where the row
            # sits, and one sentence quoted by two chunks scored ~1e-8 apart, which decided
            # the chunk an extractive answer cited.
            similarity.append((block * asked).sum(axis=1))
            similarity_in_context.append((block * in_context).sum(axis=1))
            start += len(group)
        named = identifiers(question)
        named_rows = _named_rows(question, context, chunks, read, table_rows)
        for k, (chunk, group, sims, sims_c) in enumerate(
            zip(chunks, read, similarity, similarity_in_context, strict=True)
        ):
            for i, unit in enumerate(group):
                # "Code: V31; ..." for "What does V31 mean?", "Plan: Growth; ..." for "How much
                # is the Growth plan?"
                if names_any(unit, named) or (
                    (k, i) in named_rows and asks_of_row(question, unit, table_page(chunk))
                ):
                    sims[i] = sims_c[i] = IDENTIFIER_MATCH
        words = set(self.sparse.tokenize(question))
        known = set(self.sparse.tokenize(context))
        new = words - known
        rows = []
        for rank, (chunk, sims, sims_c) in enumerate(
            zip(chunks, similarity, similarity_in_context, strict=True), 1
        ):
            held = set(self.sparse.tokenize(" ".join([chunk.text, *_heading(chunk)])))
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
        # The answer is made of sentences only: the headings' cosines are kept apart.
        answerable = [sims[: len(group)] for sims, group in zip(similarity, sentences, strict=True)]
        heading_similarity = [
            float(sims[len(group)]) if len(sims) > len(group) else None
            for sims, group in zip(similarity, sentences, strict=True)
        ]
        in_context = [
            sims[: len(group)] for sims, group in zip(similarity_in_context, sentences, strict=True)
        ]
        return Evidence(
            chunks, sentences, answerable, features, table_rows, heading_similarity, in_context
        )


def table_page(chunk: RetrievedChunk) -> str:
    """What stands above a chunk's tables: its page title and heading path (a row's key and
    what a question asks of it are also read against these: "Parcel sizes and prices")."""
    return f"{chunk.title} {chunk.section}"


def _named_rows(
    question: str,
    context: str,
    chunks: Sequence[RetrievedChunk],
    read: Sequence[Sequence[str]],
    table_rows: Sequence[frozenset[int]],
) -> set[tuple[int, int]]:
    """(chunk, unit) of the table rows the question names; where it names none of the search
    and the earlier turn does, that turn's ("And a large one?" then "What's the max weight for
    that?" asks of the Large row)."""
    rows = [
        (k, i, unit, table_page(chunk))
        for k, (chunk, group, in_table) in enumerate(zip(chunks, read, table_rows, strict=True))
        for i, unit in enumerate(group)
        if i in in_table
    ]
    for turn in (question, context):
        if turn.strip():
            named = {(k, i) for k, i, unit, around in rows if names_row(turn, unit, around)}
            if named:
                return named
    return set()


def _heading(chunk: RetrievedChunk) -> list[str]:
    """The chunk's own heading, as a one-item list (empty without a section)."""
    heading = chunk.section.rsplit(SECTION_SEPARATOR, 1)[-1].strip()
    return [heading] if heading else []


TURN_FEATURES: tuple[str, ...] = tuple(f"max_{name}" for name in FEATURES)
"""The turn-level features: each chunk feature's best value over the search. Means and
best-vs-second margins were tried and dropped: they depend on how many chunks a search
returns (a knowledge base of two documents returns two), which the training searches did not
vary, and a clear answer in a one-chunk search was declined."""


def turn_features(features: np.ndarray) -> np.ndarray:
    """One row for the whole search, from the per-chunk rows (columns as `TURN_FEATURES`)."""
    if not len(features):
        return np.zeros(len(TURN_FEATURES))
    return features.max(axis=0)


SPREAD_FEATURES: tuple[str, ...] = ("distinct_sources", "best_sentence_spread", "dense_spread")
"""How far a search spreads: a vague question finds many pages, none much closer than the
others; a clear one finds one or two that stand out (the clarify head reads these)."""


def spread_features(evidence: Evidence) -> np.ndarray:
    """One row for the whole search, columns as `SPREAD_FEATURES`."""
    if not evidence.chunks:
        return np.zeros(len(SPREAD_FEATURES))
    sources = {c.title.casefold() if c.title else c.doc_id for c in evidence.chunks}
    best = evidence.features[:, FEATURES.index("best_sentence")]
    dense = evidence.features[:, FEATURES.index("dense")]
    return np.array(
        [float(len(sources)), float(best.max() - best.min()), float(dense.max() - dense.min())]
    )

"""Judge examples from real answerability labels, retrieved with the project's own retriever.

For each MTRAG-UN task (`question`, `history`, gold `doc_ids`, `answerability`) the contextual
query (the previous user turn and the question, as the graph sends it) is searched at the
graph's depth, and the evidence of those chunks is read:

- ANSWERABLE / PARTIAL with a gold document among the chunks: the search answers; the gold
  chunks are the ones that do.
- UNANSWERABLE: the search does not answer; no chunk does.
- ANSWERABLE / PARTIAL again, with its gold documents taken out of the results (the next
  chunks move up): a real negative, the same question over real chunks that do not answer it.

The clarify head learns from the same searches: UNDERSPECIFIED tasks (kind `underspecified`)
are the vague questions, every other task's own search is not (answerable tasks whose search
missed every gold document come as kind `missed`: the turn and chunk heads leave them out, with
no label to learn from, but the question is no vaguer for it). Every example keeps its
conversation, so folds split by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.errors import InputError
from assistant.evaluation.datasets import SupportQuestion
from assistant.knowledge.search_tool import Retriever
from assistant.schemas import RetrievedChunk
from assistant.settings import SearchMode
from assistant.turn.evidence import TURN_FEATURES, EvidenceReader, spread_features, turn_features

ANSWERABLE = frozenset({"ANSWERABLE", "PARTIAL"})
ANSWER_KINDS = frozenset({"answerable", "unanswerable", "gold_removed"})
"""The kinds the turn and chunk heads learn from."""
LOGGED = "logged"
"""The kind of a turn of the interaction log that someone labelled (`logged_judgements`): the
turn head learns from it; the chunk head does not (a rating does not say which chunk answered)."""
LOG_GROUP = "log:"
"""The prefix of a logged example's group (`log:<thread>`): which rows came from the log."""
TURN_ROWS_FILE = "training_rows.npz"
CLARIFY_KINDS = frozenset({"answerable", "missed", "unanswerable", "underspecified"})
"""The kinds the clarify head learns from: each task's own search, once."""
# How many more chunks to fetch so that a search without its gold still holds `k` chunks.
SPARE = 5


@dataclass(frozen=True)
class JudgeExample:
    """One search read against one question: per-chunk features and labels, and the turn's."""

    conversation: str
    kind: str
    """`answerable`, `unanswerable`, `gold_removed`, `missed` or `underspecified`."""
    features: np.ndarray
    spread: np.ndarray
    """The search's spread row (`assistant.turn.evidence.SPREAD_FEATURES`)."""
    chunk_labels: np.ndarray
    answers: bool
    question: str = ""
    context: str = ""
    """The earlier user turn the search leaned on ('' when the question opens)."""
    chunk_texts: tuple[str, ...] = ()
    """The searched chunks' texts, in rank order: what a reader scores against the question."""


def judge_examples(
    questions: Sequence[SupportQuestion],
    retriever: Retriever,
    reader: EvidenceReader,
    *,
    tenant: str,
    k: int,
    mode: SearchMode = "hybrid",
) -> list[JudgeExample]:
    """The examples of `questions` over the knowledge base `retriever` searches."""
    examples = []
    for question in questions:
        if question.answerability not in ANSWERABLE | {"UNANSWERABLE", "UNDERSPECIFIED"}:
            continue
        query = question.search_query()
        top = retriever.search(query, tenant=tenant, k=k, mode=mode)
        gold = set(question.doc_ids)

        if question.answerability in ("UNANSWERABLE", "UNDERSPECIFIED"):
            examples.append(_example(reader, question, top, question.answerability.lower()))
            continue
        if not any(c.doc_id in gold for c in top):
            examples.append(_example(reader, question, top, "missed"))
            continue
        examples.append(_example(reader, question, top, "answerable"))
        found = retriever.search(query, tenant=tenant, k=k + SPARE, mode=mode)
        without = [c for c in found if c.doc_id not in gold][:k]
        if without:
            examples.append(_example(reader, question, without, "gold_removed"))
    return examples


def _example(
    reader: EvidenceReader, question: SupportQuestion, chunks: list[RetrievedChunk], kind: str
) -> JudgeExample:
    evidence = reader.read(question.question, question.previous_question, chunks)
    gold = set(question.doc_ids)
    labels = np.array([c.doc_id in gold for c in chunks], dtype=bool)
    return JudgeExample(
        question.conversation,
        kind,
        evidence.features,
        spread_features(evidence),
        labels,
        kind == "answerable",
        question=question.question,
        context=question.previous_question,
        chunk_texts=tuple(c.text for c in chunks),
    )


@dataclass(frozen=True)
class TurnRows:
    """The turn head's training set as numbers: one row per search (columns `inputs`), whether
    it answers, its conversation (the folds' groups) and its weight in the regression.

    Saved beside the fitted turn head so that a refit from a team's log (`assistant adapters
    fit-judge --from-log`) keeps the shipped examples without searching their corpora again.
    """

    rows: np.ndarray
    answers: np.ndarray
    groups: np.ndarray
    weights: np.ndarray
    inputs: tuple[str, ...] = TURN_FEATURES

    @classmethod
    def of(cls, examples: Sequence[JudgeExample], weight: float = 1.0) -> TurnRows:
        """The rows of the examples the turn head learns from (`ANSWER_KINDS` and `LOGGED`)."""
        kept = [e for e in examples if e.kind in ANSWER_KINDS | {LOGGED}]
        return cls(
            rows=np.array([turn_features(e.features) for e in kept]).reshape(
                len(kept), len(TURN_FEATURES)
            ),
            answers=np.array([e.answers for e in kept], dtype=bool),
            groups=np.array([e.conversation for e in kept], dtype=str),
            weights=np.full(len(kept), weight),
        )

    def __len__(self) -> int:
        return len(self.answers)

    @property
    def logged(self) -> np.ndarray:
        """Which rows are turns of a team's log (`LOG_GROUP`)."""
        return np.char.startswith(self.groups.astype(str), LOG_GROUP)

    def __add__(self, other: TurnRows) -> TurnRows:
        if self.inputs != other.inputs:
            raise InputError("turn rows of different features cannot be joined")
        return TurnRows(
            rows=np.concatenate([self.rows, other.rows]),
            answers=np.concatenate([self.answers, other.answers]),
            groups=np.concatenate([self.groups, other.groups]),
            weights=np.concatenate([self.weights, other.weights]),
            inputs=self.inputs,
        )

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            folder / TURN_ROWS_FILE,
            rows=self.rows,
            answers=self.answers,
            groups=self.groups,
            weights=self.weights,
            inputs=np.array(self.inputs, dtype=str),
        )

    @classmethod
    def load(cls, folder: Path) -> TurnRows:
        """The rows saved beside the turn head in `folder`; a clear error when there are none
        or they were computed for other features than this release's."""
        path = folder / TURN_ROWS_FILE
        if not path.is_file():
            raise InputError(
                f"{folder}: no {TURN_ROWS_FILE} beside the turn head (fitted by an older "
                "release): give the task files again with --tasks/--corpus"
            )
        try:
            with np.load(path, allow_pickle=False) as saved:
                inputs = tuple(str(name) for name in saved["inputs"])
                loaded = cls(
                    rows=np.asarray(saved["rows"], dtype=np.float64),
                    answers=np.asarray(saved["answers"], dtype=bool),
                    groups=np.asarray(saved["groups"], dtype=str),
                    weights=np.asarray(saved["weights"], dtype=np.float64),
                    inputs=inputs,
                )
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"{path}: not a judge training-rows file ({exc})") from exc
        if inputs != TURN_FEATURES:
            raise InputError(
                f"{path} holds other features than this release's turn head reads: give the "
                "task files again with --tasks/--corpus"
            )
        return loaded

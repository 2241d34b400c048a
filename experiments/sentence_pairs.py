"""The sentence-level pairs of `sentence_reader_experiment.py`, and the searches they come from.

The judge's own searches (`assistant/training/judge_data.py`, both task files, the graph's
depth and mode) are collected once, with every sentence vector the `EvidenceReader` computed for
them, and cached (`--cache`, a pickle outside the repository). The reader then trains on those
vectors, so the experiment never embeds a sentence twice and scores the sentences the judge reads.

Labels, per (question, sentence) pair (`label_pairs`):

- a sentence of a gold chunk of an answerable search (ANSWERABLE / PARTIAL, a gold document
  retrieved) answers when it overlaps the task's reference answer: the share of its content
  words (stemmed, stop words out) found in the reference is at least `--overlap` (chosen by
  reading examples, see experiments/README.md). MTRAG-UN references are written from the gold
  passages, so the sentences they draw on are the ones that answer;
- the other sentences of the same gold chunk do not (on topic by construction);
- every sentence of a non-gold chunk, of an UNANSWERABLE search and of a gold-removed search
  does not;
- a gold chunk's sentence between the two (some overlap, below the threshold) is left out.

Each (question, sentence) pair is kept once per conversation turn: a gold-removed search repeats
its answerable twin's non-gold chunks.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from unittest.mock import patch

import numpy as np

from assistant.evaluation.datasets import load_support_qa
from assistant.knowledge.embedder import Embedder, load_embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.schemas import RetrievedChunk
from assistant.settings import Settings
from assistant.training import behaviour_fit
from assistant.training.behaviour_fit import collect_judge_examples
from assistant.training.judge_data import JudgeExample
from assistant.turn.evidence import Evidence, EvidenceReader

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SOURCES = {
    "behaviour": (DATA / "behaviour_tasks.jsonl", DATA / "behaviour_corpus.jsonl"),
    "support": (DATA / "support_qa_dev.jsonl", DATA / "support_corpus.jsonl"),
}


@dataclass(frozen=True)
class Search:
    """One judge example with what its reader computed: the question's two vectors (alone, and
    after the earlier turn) and each chunk's sentence vectors (headings left out)."""

    source: str
    example: JudgeExample
    reference: str
    asked: np.ndarray
    in_context: np.ndarray
    sentences: list[list[str]]
    vectors: list[np.ndarray]


class _RecordingReader(EvidenceReader):
    """The project's reader, keeping each read's vectors (the embedder caches, so asking it
    again for the same texts costs no second pass)."""

    def __init__(self, embedder: Embedder) -> None:
        super().__init__(embedder, SparseEncoder())
        self.reads: list[tuple[str, str, Evidence, np.ndarray, np.ndarray, list[np.ndarray]]] = []

    def read(self, question: str, context: str, chunks: Sequence[RetrievedChunk]) -> Evidence:
        evidence = super().read(question, context, chunks)
        flat = [s for group in evidence.sentences for s in group]
        vectors = self.embedder.embed_documents([question, f"{context} {question}".strip(), *flat])
        groups, start = [], 2
        for group in evidence.sentences:
            groups.append(vectors[start : start + len(group)].copy())
            start += len(group)
        self.reads.append((question, context, evidence, vectors[0], vectors[1], groups))
        return evidence


def collect(cache: Path) -> list[Search]:
    """Every judge search of both task files with its vectors (read from `cache` when there)."""
    if cache.is_file():
        loaded: list[Search] = pickle.loads(cache.read_bytes())
        return loaded
    settings = Settings()
    embedder = load_embedder(settings.embedder)
    searches: list[Search] = []
    for source, (tasks, corpus) in SOURCES.items():
        reader = _RecordingReader(embedder)
        # The same collection `fit-judge` runs, with the recording reader.
        with patch.object(behaviour_fit, "EvidenceReader", return_value=reader):
            examples = collect_judge_examples(settings, embedder, [(tasks, corpus)])
        if len(examples) != len(reader.reads):
            raise RuntimeError("one read per judge example expected")
        references = {(q.conversation, q.question): q.answer for q in load_support_qa(tasks)}
        for example, (question, _, evidence, asked, in_context, groups) in zip(
            examples, reader.reads, strict=True
        ):
            if question != example.question:
                raise RuntimeError("reads and examples out of step")
            searches.append(
                Search(
                    source,
                    example,
                    references.get((example.conversation, example.question), "") or "",
                    asked,
                    in_context,
                    evidence.sentences,
                    groups,
                )
            )
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(searches))
    return searches


def content_words(sparse: SparseEncoder, text: str) -> set[str]:
    return set(sparse.tokenize(text))


def overlap(sparse: SparseEncoder, sentence: str, reference: str) -> float:
    """The share of the sentence's content words that the reference answer holds."""
    words = content_words(sparse, sentence)
    return len(words & content_words(sparse, reference)) / len(words) if words else 0.0


@dataclass(frozen=True)
class Pair:
    search: int
    chunk: int
    sentence: int
    conversation: str
    answers: bool
    overlap: float


def label_pairs(searches: Sequence[Search], threshold: float, gap: float = 0.2) -> list[Pair]:
    """The labelled pairs (rules in the module docstring); a gold sentence whose overlap is in
    [threshold - gap, threshold) is left out as unclear."""
    sparse = SparseEncoder()
    pairs: list[Pair] = []
    seen: set[tuple[str, str, str]] = set()
    for i, search in enumerate(searches):
        example = search.example
        if example.kind not in ("answerable", "unanswerable", "gold_removed"):
            continue
        for c, (group, gold) in enumerate(zip(search.sentences, example.chunk_labels, strict=True)):
            for s, sentence in enumerate(group):
                key = (example.conversation, example.question, sentence)
                if key in seen:
                    continue
                seen.add(key)
                share = overlap(sparse, sentence, search.reference) if gold else 0.0
                if gold and threshold - gap <= share < threshold:
                    continue
                pairs.append(
                    Pair(i, c, s, example.conversation, bool(gold) and share >= threshold, share)
                )
    return pairs

"""The `retrieval` suite: dense, sparse and hybrid search over the same questions in one run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence

from rich.progress import Progress

from assistant.evaluation.datasets import SupportQuestion
from assistant.evaluation.metrics import percentile, rank_documents, retrieval_scores
from assistant.evaluation.results import RetrievalQuestion, RetrievalRow, RetrievalScores
from assistant.knowledge.store import KnowledgeStore
from assistant.settings import SearchMode

# Chunks fetched per query, so that at least 10 distinct documents can usually be ranked
# (documents have several chunks); benchmarks/retrieval.py searches as deep.
CHUNKS_PER_QUERY = 30
RANKED_KEPT = 10


def evaluate_retrieval(
    questions: Sequence[SupportQuestion],
    store: KnowledgeStore,
    *,
    tenant: str,
    modes: Sequence[SearchMode],
    progress: Progress,
) -> tuple[list[RetrievalRow], list[RetrievalQuestion]]:
    """Rank documents for each question in every mode; one row per mode, one record per question.

    The query vectors are computed once per question and shared by the modes, so the modes
    differ only in how they search, and the timings exclude embedding.
    """
    task = progress.add_task("retrieval", total=len(questions))
    records: list[RetrievalQuestion] = []
    latency: dict[SearchMode, list[float]] = {mode: [] for mode in modes}
    for question in questions:
        query = question.search_query()
        dense = store.embedder.embed_query(query)
        sparse = store.sparse.encode_query(query)
        gold = set(question.doc_ids)
        ranked: dict[str, list[str]] = {}
        scores: dict[str, RetrievalScores] = {}
        for mode in modes:
            started = time.perf_counter()
            hits = store.search_vectors(dense, sparse, tenant=tenant, k=CHUNKS_PER_QUERY, mode=mode)
            latency[mode].append((time.perf_counter() - started) * 1000)
            documents = rank_documents(hit.doc_id for hit in hits)
            ranked[mode] = documents[:RANKED_KEPT]
            scores[mode] = retrieval_scores(documents, gold)
        records.append(
            RetrievalQuestion(
                id=question.id, query=query, gold=question.doc_ids, ranked=ranked, scores=scores
            )
        )
        progress.advance(task)
    rows = [_row(mode, [r.scores[mode] for r in records], latency[mode]) for mode in modes]
    return rows, records


def _row(mode: SearchMode, scores: list[RetrievalScores], latency: list[float]) -> RetrievalRow:
    names = list(RetrievalScores.model_fields)
    means = {
        name: statistics.fmean(getattr(s, name) for s in scores) if scores else 0.0
        for name in names
    }
    return RetrievalRow(
        variant=mode,
        questions=len(scores),
        scores=RetrievalScores(**means),
        p50_ms=round(percentile(latency, 50), 2),
        p95_ms=round(percentile(latency, 95), 2),
    )

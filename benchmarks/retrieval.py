"""Retrieval benchmark: dense vs sparse vs hybrid on the support dev questions, plus ingest
throughput against raw `SentenceTransformer.encode` and query latency, all in one run.

    python benchmarks/retrieval.py [--data ../shared/data] [--no-history]

Prints a Markdown table, then the command line that produced it.
"""

from __future__ import annotations

import argparse
import math
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

from assistant.evaluation.datasets import load_support_qa
from assistant.evaluation.metrics import percentile, rank_documents, retrieval_scores
from assistant.evaluation.retrieval import CHUNKS_PER_QUERY
from assistant.ingestion.chunking import chunk_document
from assistant.ingestion.ingest import ingest_paths
from assistant.ingestion.loaders import load_documents
from assistant.knowledge.embedder import load_embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore, index_text
from assistant.schemas import Document
from assistant.settings import SearchMode, Settings

MODES: tuple[SearchMode, ...] = ("dense", "sparse", "hybrid")
TENANT = "bench"


def parse_args() -> argparse.Namespace:
    defaults = Settings(_env_file=None)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="folder with support_corpus.jsonl and support_qa_dev.jsonl",
    )
    parser.add_argument("--embedder", default=defaults.embedder)
    parser.add_argument("--max-chars", type=int, default=defaults.chunk_max_chars)
    parser.add_argument("--batch-size", type=int, default=defaults.embed_batch_size)
    parser.add_argument(
        "--rounds", type=int, default=2, help="corpus slices for the interleaved throughput test"
    )
    parser.add_argument(
        "--no-history",
        action="store_true",
        help="query with the question alone (default: last earlier user turn + question)",
    )
    return parser.parse_args()


def chunk_texts(path: Path, max_chars: int) -> list[str]:
    """The texts the ingest embeds for the documents in `path`."""
    docs = [d for d in load_documents(path, TENANT) if isinstance(d, Document)]
    return [index_text(c) for d in docs for c in chunk_document(d, max_chars)]


def main() -> None:
    args = parse_args()
    corpus, qa = args.data / "support_corpus.jsonl", args.data / "support_qa_dev.jsonl"
    embedder = load_embedder(args.embedder)
    sparse = SparseEncoder()
    rows = [question for question in load_support_qa(qa) if question.doc_ids]

    lines = corpus.read_text(encoding="utf-8").splitlines()
    embedder.model.encode(lines[:64], batch_size=args.batch_size)  # warm-up, not timed

    with tempfile.TemporaryDirectory(prefix="retrieval-bench-") as tmp:
        settings = Settings(
            _env_file=None,
            qdrant_path=Path(tmp) / "qdrant",
            data_dir=Path(tmp),
            embed_batch_size=args.batch_size,
        )
        with KnowledgeStore.open(settings, embedder=embedder, sparse=sparse) as store:
            store.ensure_collection()
            # Ingest and the raw-encode baseline alternate slice by slice (in alternating
            # order), so load from other processes on a shared machine hits both alike.
            ingest_s = raw_s = 0.0
            chunks = 0
            size = math.ceil(len(lines) / args.rounds)
            for n, start in enumerate(range(0, len(lines), size)):
                part = Path(tmp) / f"part-{n}.jsonl"
                part.write_text("\n".join(lines[start : start + size]), encoding="utf-8")
                texts = chunk_texts(part, args.max_chars)
                for step in ("raw", "ingest") if n % 2 == 0 else ("ingest", "raw"):
                    started = time.perf_counter()
                    if step == "raw":
                        embedder.model.encode(texts, batch_size=args.batch_size)
                        raw_s += time.perf_counter() - started
                    else:
                        report = ingest_paths(
                            [part], store, tenant=TENANT, max_chars=args.max_chars
                        )
                        ingest_s += time.perf_counter() - started
                        assert report.chunks_added == len(texts), (report, len(texts))
                chunks += len(texts)

            scores: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
            latency_ms: dict[str, list[float]] = {m: [] for m in MODES}
            for row in rows:
                query = row.search_query(with_history=not args.no_history)
                dense, sparse_query = embedder.embed_query(query), sparse.encode_query(query)
                for mode in MODES:
                    started = time.perf_counter()
                    hits = store.search_vectors(
                        dense, sparse_query, tenant=TENANT, k=CHUNKS_PER_QUERY, mode=mode
                    )
                    latency_ms[mode].append((time.perf_counter() - started) * 1000)
                    ranked = rank_documents(h.doc_id for h in hits)
                    scores[mode].append(retrieval_scores(ranked, set(row.doc_ids)).labelled())

    names = list(scores[MODES[0]][0])
    print(f"Retrieval on support_qa_dev ({len(rows)} questions with gold documents, ", end="")
    print(f"{len(lines)} documents, {chunks} chunks of <= {args.max_chars} chars)\n")
    print("| metric | " + " | ".join(MODES) + " |")
    print("|---|" + "---:|" * len(MODES))
    for name in names:
        cells = (statistics.mean(s[name] for s in scores[m]) for m in MODES)
        print(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    for label, q in (("query p50 (ms)", 50), ("query p95 (ms)", 95)):
        cells = (percentile(latency_ms[m], q) for m in MODES)
        print(f"| {label} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    n = chunks
    print(
        f"\nIngest: {n} chunks in {ingest_s:.1f} s ({n / ingest_s:.1f} chunks/s); "
        f"raw SentenceTransformer.encode on the same chunks: {raw_s:.1f} s "
        f"({n / raw_s:.1f} chunks/s; interleaved in {args.rounds} slices); "
        f"ingest throughput = {raw_s / ingest_s:.2f}x raw "
        f"(target >= 0.90x). Query latency excludes embedding (precomputed vectors, "
        f"{CHUNKS_PER_QUERY} chunks per query, embedded engine: {settings.store_engine})."
    )
    print(f"\nCommand: {shlex.join([Path(sys.executable).name, *sys.argv])}")


if __name__ == "__main__":
    main()

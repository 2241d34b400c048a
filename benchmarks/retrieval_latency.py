"""Retrieval latency vs corpus size: p50/p95 of `KnowledgeStore.search_vectors` on Qdrant local
mode (the embedded default), dense, sparse and hybrid, each size against the smallest one
measured in the same run.

    python benchmarks/retrieval_latency.py [--sizes 1000,10000,100000] [--queries 30]

The chunks are the first --base chunks of the support corpus, embedded once; larger sizes
repeat them, each copy with its own document id and chunk id and its dense vector nudged by
noise (--noise, relative norm), so 100k chunks cost a few hundred embeddings. One collection
grows from size to size. Queries are dev questions embedded beforehand, so the times exclude
embedding, as in `retrieval.py`. Each size runs --queries questions, or as many as fit in
--seconds (at least --min-queries): at 100k chunks one hybrid query takes seconds.

Local mode scans every point per query and evaluates the tenant filter in Python point by
point (most of the time, in a profile), so latency grows at least linearly with the corpus; the
last line estimates where hybrid p50 crosses each of --budgets-ms. On disk local mode also
writes each point in its own SQLite transaction (~60 points/s on a 2-core VM: ~30 minutes for
100k), so the sizes are built in an in-memory local collection: the same search code, as
local mode on disk also holds every point in memory and searches there. A store on disk with
the smallest size checks that (its rows `on disk`) and times its writes.
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models

from assistant.chunking import chunk_document, chunk_id
from assistant.embedder import Embedder, load_embedder
from assistant.evaluation.datasets import load_support_qa
from assistant.evaluation.metrics import percentile
from assistant.loaders import load_documents
from assistant.schemas import Chunk, Document
from assistant.settings import SearchMode, Settings
from assistant.sparse import SparseEncoder
from assistant.store import DENSE, SPARSE, KnowledgeStore, index_text

MODES: tuple[SearchMode, ...] = ("dense", "sparse", "hybrid")
TENANT = "bench"
# Points made per slice: bounds the Python lists alive at once (a 384-float list is ~12 KB).
SLICE = 2048
# Local mode on disk writes ~70 points/s: the disk check stays small.
DISK_CHECK_MAX = 2000


@dataclass(frozen=True)
class Query:
    dense: np.ndarray
    sparse: models.SparseVector


@dataclass(frozen=True)
class Base:
    """The real chunks with their vectors: what every size is made of."""

    chunks: list[Chunk]
    dense: np.ndarray
    sparse: list[models.SparseVector]


def parse_args() -> argparse.Namespace:
    defaults = Settings(_env_file=None)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="folder with support_corpus.jsonl and support_qa_dev.jsonl",
    )
    parser.add_argument(
        "--sizes",
        type=lambda text: sorted({int(size) for size in text.split(",")}),
        default=[1000, 10000, 100000],
        help="comma-separated chunk counts; the smallest is the baseline",
    )
    parser.add_argument("--queries", type=int, default=30, help="most dev questions per size")
    parser.add_argument("--min-queries", type=int, default=5, help="fewest dev questions per size")
    parser.add_argument(
        "--seconds", type=float, default=120.0, help="time per size beyond --min-queries"
    )
    parser.add_argument("--base", type=int, default=500, help="real chunks embedded (0: all)")
    parser.add_argument("--k", type=int, default=defaults.top_k, help="chunks per search")
    parser.add_argument("--noise", type=float, default=0.3, help="relative norm of the nudge")
    parser.add_argument(
        "--budgets-ms",
        type=lambda text: [float(ms) for ms in text.split(",")],
        default=[100.0, 500.0, 1000.0],
        help="hybrid p50 values whose corpus size the last line estimates",
    )
    parser.add_argument("--embedder", default=defaults.embedder)
    parser.add_argument("--max-chars", type=int, default=defaults.chunk_max_chars)
    parser.add_argument("--batch-size", type=int, default=defaults.embed_batch_size)
    return parser.parse_args()


def load_base(
    corpus: Path, embedder: Embedder, sparse: SparseEncoder, args: argparse.Namespace
) -> Base:
    docs = [d for d in load_documents(corpus, TENANT) if isinstance(d, Document)]
    chunks = [c for d in docs for c in chunk_document(d, args.max_chars)]
    chunks = chunks[: args.base or None]
    # Vectors exactly as `KnowledgeStore.make_points` makes them at ingest.
    texts = [index_text(c) for c in chunks]
    dense = embedder.embed_documents(texts, batch_size=args.batch_size)
    return Base(chunks, dense, [sparse.encode_document(text) for text in texts])


def make_points(
    base: Base, start: int, stop: int, noise: float, rng: np.random.Generator
) -> list[models.PointStruct]:
    """Points `start..stop-1` of the synthetic corpus: point i is copy i // n of base chunk
    i % n; copy 0 is the chunk itself."""
    n = len(base.chunks)
    points = []
    for i in range(start, stop):
        chunk, copy = base.chunks[i % n], i // n
        dense = base.dense[i % n]
        if copy:
            doc_id = f"{chunk.doc_id}~{copy}"
            key = chunk_id(TENANT, doc_id, chunk.section, chunk.text, copy)
            chunk = chunk.model_copy(update={"doc_id": doc_id, "chunk_id": key})
            nudge = rng.standard_normal(dense.shape[0]).astype(np.float32)
            dense = dense + nudge * (noise / float(np.linalg.norm(nudge)))
            dense /= np.linalg.norm(dense)
        points.append(
            models.PointStruct(
                id=chunk.chunk_id,
                vector={DENSE: dense.tolist(), SPARSE: base.sparse[i % n]},
                payload=chunk.model_dump(exclude={"chunk_id"}),
            )
        )
    return points


def grow(
    store: KnowledgeStore, base: Base, start: int, stop: int, args: argparse.Namespace
) -> None:
    """Add points `start..stop-1`; the seed depends on `start` so every run builds the same."""
    rng = np.random.default_rng(start)
    for first in range(start, stop, SLICE):
        store.write_points(make_points(base, first, min(first + SLICE, stop), args.noise, rng))


def time_queries(
    store: KnowledgeStore, queries: Sequence[Query], args: argparse.Namespace
) -> dict[str, list[float]]:
    """Milliseconds per search and mode; the modes take turns going first, so drifting load
    from other processes hits each alike."""
    first = queries[0]
    for mode in MODES:  # warm-up: the first query of a mode builds local mode's caches
        store.search_vectors(first.dense, first.sparse, tenant=TENANT, k=args.k, mode=mode)
    latency: dict[str, list[float]] = {m: [] for m in MODES}
    deadline = time.perf_counter() + args.seconds
    for n, query in enumerate(queries):
        if n >= args.min_queries and time.perf_counter() > deadline:
            break
        for mode in MODES[n % 3 :] + MODES[: n % 3]:
            started = time.perf_counter()
            store.search_vectors(query.dense, query.sparse, tenant=TENANT, k=args.k, mode=mode)
            latency[mode].append((time.perf_counter() - started) * 1000)
    return latency


def crossing(sizes: Sequence[int], p50: Sequence[float], budget_ms: float) -> str:
    """Where `p50` first reaches `budget_ms`, interpolated linearly between measured sizes."""
    if p50[0] >= budget_ms:
        return f"{budget_ms:,.0f} ms already at {sizes[0]:,}"
    for (low, low_ms), (high, high_ms) in itertools.pairwise(zip(sizes, p50, strict=True)):
        if low_ms < budget_ms <= high_ms:
            size = low + (budget_ms - low_ms) * (high - low) / (high_ms - low_ms)
            return f"{budget_ms:,.0f} ms at about {float(f'{size:.2g}'):,.0f}"
    return f"{budget_ms:,.0f} ms not within {sizes[-1]:,}"


def switch_advice(sizes: Sequence[int], p50: Sequence[float], budgets: Sequence[float]) -> str:
    passes = ", ".join(crossing(sizes, p50, budget) for budget in budgets)
    return (
        f"Hybrid p50 passes {passes} chunks on this machine. Past the size where your budget "
        "is crossed, or as soon as two processes need the index, run a Qdrant server "
        "(`QDRANT_URL`): its HNSW and inverted indexes do not scan every point per query."
    )


def main() -> None:
    args = parse_args()
    corpus, qa = args.data / "support_corpus.jsonl", args.data / "support_qa_dev.jsonl"
    embedder = load_embedder(args.embedder)
    sparse = SparseEncoder()
    started = time.perf_counter()
    base = load_base(corpus, embedder, sparse, args)
    embed_s = time.perf_counter() - started
    questions = load_support_qa(qa)[: args.queries]
    queries = [
        Query(embedder.embed_query(text), sparse.encode_query(text))
        for text in (q.search_query() for q in questions)
    ]

    measured: dict[int, dict[str, list[float]]] = {}
    build_s: dict[int, float] = {}
    smallest = args.sizes[0]
    disk_size = min(smallest, DISK_CHECK_MAX)
    with tempfile.TemporaryDirectory(prefix="retrieval-latency-") as tmp:
        settings = Settings(
            _env_file=None, qdrant_url=None, qdrant_path=Path(tmp) / "qdrant", data_dir=Path(tmp)
        )
        with KnowledgeStore.open(settings, embedder=embedder, sparse=sparse) as disk:
            disk.ensure_collection()
            started = time.perf_counter()
            grow(disk, base, 0, disk_size, args)
            disk_write_s = time.perf_counter() - started
            disk_latency = time_queries(disk, queries, args)

    memory = KnowledgeStore(
        QdrantClient(location=":memory:"),
        collection=settings.collection,
        embedder=embedder,
        sparse=sparse,
        payload_indexes=False,
    )
    with memory:
        memory.ensure_collection()
        have = 0
        for size in args.sizes:
            started = time.perf_counter()
            grow(memory, base, have, size, args)
            build_s[size], have = time.perf_counter() - started, size
            assert memory.count(TENANT) == size, (memory.count(TENANT), size)
            measured[size] = time_queries(memory, queries, args)
            print(f"{size:,} chunks measured", file=sys.stderr, flush=True)

    rows = [(f"{size:,}", latency) for size, latency in measured.items()]
    rows.insert(1, (f"{disk_size:,} on disk", disk_latency))
    baseline = {m: percentile(measured[smallest][m], 50) for m in MODES}
    print(
        f"Retrieval latency of `KnowledgeStore.search_vectors`, Qdrant local mode, k={args.k}, "
        f"query embedding excluded; baseline = {smallest:,} chunks in the same run\n"
    )
    print("| chunks | mode | queries | p50 (ms) | p95 (ms) | p50 vs baseline |")
    print("|---|---|---:|---:|---:|---:|")
    for label, latency in rows:
        for mode in MODES:
            p50 = percentile(latency[mode], 50)
            print(
                f"| {label} | {mode} | {len(latency[mode])} | {p50:.1f} "
                f"| {percentile(latency[mode], 95):.1f} "
                f"| {p50 / baseline[mode]:.2f}x |"
            )
    hybrid = [percentile(latency["hybrid"], 50) for latency in measured.values()]
    builds = ", ".join(f"{s:,} in {build_s[s]:.0f} s" for s in args.sizes)
    print(
        f"\nChunks: the first {len(base.chunks):,} of the support corpus (embedded in "
        f"{embed_s:.0f} s), repeated as "
        f"copies with their own ids and nudged dense vectors. In-memory local collection grown "
        f"to {builds}. On disk, local mode wrote {disk_size:,} points in {disk_write_s:.0f} s "
        f"({disk_size / disk_write_s:.0f} points/s: one SQLite transaction per point)."
    )
    print(f"\n{switch_advice(list(measured), hybrid, args.budgets_ms)}")
    print(f"\nCommand: `{shlex.join([Path(sys.executable).name, *sys.argv])}`")


if __name__ == "__main__":
    main()

"""Retrieval latency vs corpus size on both embedded engines, Qdrant Edge (the default) and
qdrant-client's local mode: p50/p95 of `KnowledgeStore.search_vectors`, dense, sparse and
hybrid, with write rate, index build time and memory, against the targets of issue 15.

    python benchmarks/retrieval_latency.py [--sizes 1000,10000,100000] [--engines edge,local]

The chunks are the first --base chunks of the support corpus, embedded once; larger sizes
repeat them, each copy with its own document id and chunk id and its dense vector nudged by
noise (--noise, relative norm), so 100k chunks cost a few hundred embeddings. Queries are dev
questions embedded beforehand, so the times exclude embedding, as in `retrieval.py`. Each size
runs --queries questions, or as many as fit in --seconds (at least --min-queries).

Edge: one shard on disk grows from size to size. Each size is measured twice: `exact`, as
written (segments are searched by brute force), then `hnsw`, after `build_index` (Edge's
`optimize()`, which indexes the segments past its indexing threshold; the build time is that
call's, for the points added since the previous size).

Local mode scans every point in Python per query, so it runs up to --local-max chunks only, in
an in-memory collection (local mode on disk holds every point in memory too and searches
there; on disk it writes each point in its own SQLite transaction, ~100 points/s, which its
`write pts/s` column measures on --local-disk points).

Ingest: `ingest_documents` of the first --ingest-docs documents into an empty store on disk on
each engine (index build included), against one raw `SentenceTransformer.encode` of the same
chunk texts: ingest should be bound by the embedder (target >= 0.9x).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from qdrant_client import QdrantClient, models

from assistant.evaluation.datasets import load_support_qa
from assistant.evaluation.metrics import percentile
from assistant.ingestion.chunking import chunk_document, chunk_id
from assistant.ingestion.ingest import ingest_documents
from assistant.ingestion.loaders import load_documents
from assistant.knowledge.embedder import Embedder, load_embedder
from assistant.knowledge.qdrant.server import ClientEngine
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import DENSE, SPARSE, KnowledgeStore, index_text
from assistant.schemas import Chunk, Document
from assistant.settings import SearchMode, Settings, StoreEngineName

MODES: tuple[SearchMode, ...] = ("dense", "sparse", "hybrid")
TENANT = "bench"
# Points made per slice: bounds the Python lists alive at once (a 384-float list is ~12 KB).
SLICE = 2048
# Issue 15's targets: hybrid p50 (ms) by corpus size, and ingest vs raw encode.
HYBRID_P50_TARGET_MS = {10_000: 5.0, 100_000: 20.0}
INGEST_VS_ENCODE_TARGET = 0.9


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


@dataclass
class Size:
    """One engine at one corpus size."""

    engine: str
    chunks: int
    write_pts_s: float
    rss_mib: float
    latency: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    """index state (`exact`, `hnsw`) -> mode -> milliseconds per query."""
    build_s: float | None = None


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
        help="comma-separated chunk counts",
    )
    parser.add_argument("--engines", type=lambda text: text.split(","), default=["edge", "local"])
    parser.add_argument("--local-max", type=int, default=10000, help="largest local-mode size")
    parser.add_argument("--local-disk", type=int, default=1000, help="local-mode points on disk")
    parser.add_argument(
        "--ingest-docs", type=int, default=150, help="documents of the ingest check"
    )
    parser.add_argument("--queries", type=int, default=30, help="most dev questions per size")
    parser.add_argument("--min-queries", type=int, default=5, help="fewest dev questions per size")
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="time per size beyond --min-queries"
    )
    parser.add_argument("--base", type=int, default=500, help="real chunks embedded (0: all)")
    parser.add_argument("--k", type=int, default=defaults.top_k, help="chunks per search")
    parser.add_argument("--noise", type=float, default=0.3, help="relative norm of the nudge")
    parser.add_argument("--embedder", default=defaults.embedder)
    parser.add_argument("--max-chars", type=int, default=defaults.chunk_max_chars)
    parser.add_argument("--batch-size", type=int, default=defaults.embed_batch_size)
    return parser.parse_args()


def rss_mib() -> float:
    """This process's resident memory now (mapped index files count once touched)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_base(docs: list[Document], embedder: Embedder, args: argparse.Namespace) -> Base:
    sparse = SparseEncoder()
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
) -> float:
    """Add points `start..stop-1`; returns the seconds spent writing them (making them is not
    timed). The seed depends on `start` so every run builds the same."""
    rng = np.random.default_rng(start)
    writing = 0.0
    for first in range(start, stop, SLICE):
        points = make_points(base, first, min(first + SLICE, stop), args.noise, rng)
        started = time.perf_counter()
        store.write_points(points)
        writing += time.perf_counter() - started
    return writing


def time_queries(
    store: KnowledgeStore, queries: Sequence[Query], args: argparse.Namespace
) -> dict[str, list[float]]:
    """Milliseconds per search and mode; the modes take turns going first, so drifting load
    from other processes hits each alike."""
    first = queries[0]
    for mode in MODES:  # warm-up: the first query of a mode builds caches
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


def settings_in(folder: Path, engine: StoreEngineName) -> Settings:
    return Settings(
        _env_file=None,
        qdrant_url=None,
        qdrant_path=folder / "qdrant",
        data_dir=folder,
        store_engine=engine,
    )


def run_edge(
    base: Base, queries: list[Query], embedder: Embedder, args: argparse.Namespace, tmp: Path
) -> list[Size]:
    sizes: list[Size] = []
    with KnowledgeStore.open(
        settings_in(tmp / "edge", "edge"), embedder=embedder, sparse=SparseEncoder()
    ) as store:
        store.ensure_collection()
        have = 0
        for n in args.sizes:
            writing = grow(store, base, have, n, args)
            size = Size("edge", n, (n - have) / writing, 0.0)
            have = n
            assert store.count(TENANT) == n, (store.count(TENANT), n)
            size.latency["exact"] = time_queries(store, queries, args)
            started = time.perf_counter()
            store.build_index()
            size.build_s = time.perf_counter() - started
            size.latency["hnsw"] = time_queries(store, queries, args)
            size.rss_mib = rss_mib()
            sizes.append(size)
            print(f"edge: {n:,} chunks measured", file=sys.stderr, flush=True)
    return sizes


def run_local(
    base: Base, queries: list[Query], embedder: Embedder, args: argparse.Namespace, tmp: Path
) -> list[Size]:
    settings = settings_in(tmp / "local", "local")
    with KnowledgeStore.open(settings, embedder=embedder, sparse=SparseEncoder()) as disk:
        disk.ensure_collection()
        disk_pts_s = args.local_disk / grow(disk, base, 0, args.local_disk, args)
    engine = ClientEngine(
        QdrantClient(location=":memory:"),
        settings.collection,
        where=":memory:",
        payload_indexes=False,
    )
    sizes: list[Size] = []
    with KnowledgeStore(engine, embedder=embedder, sparse=SparseEncoder()) as memory:
        memory.ensure_collection()
        have = 0
        for n in [s for s in args.sizes if s <= args.local_max]:
            grow(memory, base, have, n, args)
            have = n
            size = Size("local", n, disk_pts_s, 0.0)
            size.latency["exact"] = time_queries(memory, queries, args)
            size.rss_mib = rss_mib()
            sizes.append(size)
            print(f"local: {n:,} chunks measured", file=sys.stderr, flush=True)
    return sizes


@dataclass(frozen=True)
class IngestCheck:
    chunks: int
    encode_s: float
    ingest_s: dict[str, float]


def check_ingest(
    docs: list[Document], embedder: Embedder, args: argparse.Namespace, tmp: Path
) -> IngestCheck:
    chosen = docs[: args.ingest_docs]
    texts = [index_text(c) for d in chosen for c in chunk_document(d, args.max_chars)]

    def encode() -> float:
        started = time.perf_counter()
        embedder.encoder.encode(texts, query=False, batch_size=args.batch_size)
        return time.perf_counter() - started

    # Encoding before and after the ingests: other work on the machine drifts.
    before = encode()
    ingest_s: dict[str, float] = {}
    for engine in args.engines:
        settings = settings_in(tmp / f"ingest-{engine}", engine)
        with KnowledgeStore.open(settings, embedder=embedder, sparse=SparseEncoder()) as store:
            started = time.perf_counter()
            report = ingest_documents(chosen, store, tenant=TENANT, max_chars=args.max_chars)
            store.build_index()
            ingest_s[engine] = time.perf_counter() - started
            assert report.chunks_added == len(texts), (report, len(texts))
    return IngestCheck(len(texts), (before + encode()) / 2, ingest_s)


def print_tables(sizes: list[Size], ingest: IngestCheck, args: argparse.Namespace) -> None:
    print(
        f"Retrieval latency of `KnowledgeStore.search_vectors`, k={args.k}, query embedding "
        "excluded; `exact`: as written (brute force), `hnsw`: after `build_index`\n"
    )
    print("| engine | chunks | index | mode | queries | p50 (ms) | p95 (ms) |")
    print("|---|---:|---|---|---:|---:|---:|")
    for size in sizes:
        for state, latency in size.latency.items():
            for mode in MODES:
                print(
                    f"| {size.engine} | {size.chunks:,} | {state} | {mode} "
                    f"| {len(latency[mode])} | {percentile(latency[mode], 50):.1f} "
                    f"| {percentile(latency[mode], 95):.1f} |"
                )
    print("\n| engine | chunks | write (pts/s) | index build (s) | RSS (MiB) |")
    print("|---|---:|---:|---:|---:|")
    for size in sizes:
        build = "-" if size.build_s is None else f"{size.build_s:.1f}"
        print(
            f"| {size.engine} | {size.chunks:,} | {size.write_pts_s:,.0f} | {build} "
            f"| {size.rss_mib:,.0f} |"
        )
    print(
        f"\nLocal mode's write rate is on disk ({args.local_disk:,} points); its latency in "
        "memory. Edge's build time is `optimize()` for the points added since the previous "
        "size. RSS is the whole process's (the embedder included), after the size."
    )
    print(
        f"\nIngest of {ingest.chunks:,} chunks ({args.ingest_docs} documents) on disk, index "
        f"build included, against raw `SentenceTransformer.encode` ({ingest.encode_s:.1f} s, "
        "the mean of one run before and one after):"
    )
    for engine, seconds in ingest.ingest_s.items():
        ratio = ingest.encode_s / seconds
        verdict = "meets" if ratio >= INGEST_VS_ENCODE_TARGET else "misses"
        print(
            f"- {engine}: {seconds:.1f} s, {ratio:.2f}x raw encode ({verdict} the "
            f">= {INGEST_VS_ENCODE_TARGET}x target)"
        )
    print("\nTargets (hybrid p50, Edge with its index built):")
    for n, target in HYBRID_P50_TARGET_MS.items():
        measured = [s for s in sizes if s.engine == "edge" and s.chunks == n]
        if not measured:
            print(f"- {n:,} chunks: not measured in this run")
            continue
        p50 = percentile(measured[0].latency["hnsw"]["hybrid"], 50)
        verdict = "meets" if p50 <= target else "misses"
        print(f"- {n:,} chunks: {p50:.1f} ms, {verdict} the <= {target:g} ms target")


def main() -> None:
    args = parse_args()
    corpus, qa = args.data / "support_corpus.jsonl", args.data / "support_qa_dev.jsonl"
    embedder = load_embedder(args.embedder)
    sparse = SparseEncoder()
    docs = [d for d in load_documents(corpus, TENANT) if isinstance(d, Document)]
    base = load_base(docs, embedder, args)
    questions = load_support_qa(qa)[: args.queries]
    queries = [
        Query(embedder.embed_query(text), sparse.encode_query(text))
        for text in (q.search_query() for q in questions)
    ]
    sizes: list[Size] = []
    with tempfile.TemporaryDirectory(prefix="retrieval-latency-") as name:
        tmp = Path(name)
        ingest = check_ingest(docs, embedder, args, tmp)
        if "edge" in args.engines:
            sizes += run_edge(base, queries, embedder, args, tmp)
        if "local" in args.engines:
            sizes += run_local(base, queries, embedder, args, tmp)
    print_tables(sizes, ingest, args)
    print(f"\nCommand: `{shlex.join([Path(sys.executable).name, *sys.argv])}`")


if __name__ == "__main__":
    main()

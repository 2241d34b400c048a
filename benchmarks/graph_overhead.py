"""Graph overhead per turn: the time `Assistant.ask` spends outside the model calls, embeddings
and Qdrant searches it makes, on the embedded default, against those model calls timed in the
same turns.

    python benchmarks/graph_overhead.py [--n 20] [--docs 100]

The index is built in a temporary folder from the gold documents of the first --n dev
questions plus the first --docs other passages of the support corpus; then each question is
asked once, on a new thread (one untimed turn first loads the weights and the decide step's
calibration). Three disjoint parts of each turn are timed: the chat model's calls, by a
LangChain callback from each call's start to its end (the bare `_generate`: prompt, forward
passes, constraints); every embedding (the query, the citation check's sentences), by a timed
`Embedder`; and Qdrant, by a timed `KnowledgeStore.search_vectors`. Overhead = turn - those
three: the graph, its checkpoints, the interaction log, LangChain's wrapping and the nodes' own
Python. Target: <= 5% of the turn.

Tracing: each question is asked twice, in turn, by the assistant with tracing off (the
default, no tracer) and by one with an SDK `TracerProvider` whose batch processor exports to
memory (span creation and attributes on the turn's thread, as with OTLP; the export itself
runs on the processor's thread). Target: on <= 1% of a turn; off = unmeasurable (the off
path's only added work, a `turn_span(None)` and a few None checks, is timed in isolation).
Settings come from the environment (ASSISTANT_TORCH_THREADS,
ASSISTANT_CACHE_DIR, ASSISTANT_VERIFY_CITATIONS, ...), except that the backend is the embedded
model, Qdrant Edge and SQLite threads in the temporary folder.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from uuid import UUID

import numpy as np
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from qdrant_client import models

from assistant.evaluation.datasets import corpus_subset, load_support_qa
from assistant.ingestion.ingest import ingest_paths
from assistant.knowledge.embedder import Embedder, Encoder, open_embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.gateway import build_chat_model
from assistant.schemas import RetrievedChunk
from assistant.service import Assistant
from assistant.settings import SearchMode, Settings
from assistant.thread_store import open_thread_store
from assistant.tracing import turn_span

TARGET = 0.05
TRACING_TARGET = 0.01
WARM_UP = "How do I reset my password?"


@dataclass
class Stopwatch:
    """Seconds and count of the calls timed since the last reset."""

    seconds: float = 0.0
    calls: int = 0

    def add(self, seconds: float) -> None:
        self.seconds += seconds
        self.calls += 1

    @contextmanager
    def timing(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(time.perf_counter() - started)

    def reset(self) -> None:
        self.seconds, self.calls = 0.0, 0


class ModelTimer(BaseCallbackHandler):
    """Times the chat model's calls, from start callback to end callback."""

    def __init__(self) -> None:
        self.watch = Stopwatch()
        self._started: dict[UUID, float] = {}

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._started[run_id] = time.perf_counter()

    def on_llm_end(
        self,
        response: LLMResult,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self.watch.add(time.perf_counter() - self._started.pop(run_id))

    def on_llm_error(
        self,
        error: BaseException,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        self.watch.add(time.perf_counter() - self._started.pop(run_id))


class TimedEmbedder(Embedder):
    """The embedder with every call timed, wherever it comes from (search or citation check)."""

    def __init__(self, encoder: Encoder, name: str) -> None:
        super().__init__(encoder, name)
        self.watch = Stopwatch()

    def embed_documents(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        with self.watch.timing():
            return super().embed_documents(texts, batch_size)

    def embed_query(self, text: str) -> np.ndarray:
        with self.watch.timing():
            return super().embed_query(text)


class TimedStore(KnowledgeStore):
    """The knowledge base with Qdrant's part of each search timed (its vectors come ready)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watch = Stopwatch()

    def search_vectors(
        self,
        dense: np.ndarray,
        sparse: models.SparseVector,
        *,
        tenant: str,
        k: int,
        mode: SearchMode,
    ) -> list[RetrievedChunk]:
        with self.watch.timing():
            return super().search_vectors(dense, sparse, tenant=tenant, k=k, mode=mode)


@dataclass(frozen=True)
class Turn:
    seconds: float
    model: Stopwatch
    embedding: Stopwatch
    qdrant: Stopwatch
    outcome: str

    @property
    def overhead_s(self) -> float:
        return self.seconds - self.model.seconds - self.embedding.seconds - self.qdrant.seconds


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="folder with support_corpus.jsonl and support_qa_dev.jsonl",
    )
    parser.add_argument("--n", type=int, default=20, help="dev questions asked (timed)")
    parser.add_argument(
        "--docs", type=int, default=100, help="corpus passages indexed besides the gold ones"
    )
    return parser.parse_args()


def run_turn(assistant: Assistant, watches: Sequence[Stopwatch], question: str) -> Turn:
    """One turn on a new thread; `watches` are the model's, the embedder's and the store's."""
    for watch in watches:
        watch.reset()
    started = time.perf_counter()
    answer = assistant.ask(question)
    seconds = time.perf_counter() - started
    model, embedding, qdrant = (replace(watch) for watch in watches)
    return Turn(seconds, model, embedding, qdrant, answer.outcome.value)


def share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%"


def main() -> None:
    args = parse_args()
    corpus, qa = args.data / "support_corpus.jsonl", args.data / "support_qa_dev.jsonl"
    questions = load_support_qa(qa)[: args.n]
    with tempfile.TemporaryDirectory(prefix="graph-overhead-") as tmp:
        settings = Settings(
            _env_file=None,
            backend="embedded",
            qdrant_url=None,
            threads_url=None,
            data_dir=Path(tmp),
            qdrant_path=Path(tmp) / "qdrant",
        )
        subset = Path(tmp) / "corpus.jsonl"
        subset.write_text("\n".join(corpus_subset(corpus, questions, args.docs)), encoding="utf-8")
        embedder = TimedEmbedder(open_embedder(settings).encoder, settings.embedder)
        store = TimedStore.open(settings, embedder=embedder, sparse=SparseEncoder())
        store.ensure_collection()
        report = ingest_paths(
            [subset], store, tenant=settings.tenant, max_chars=settings.chunk_max_chars
        )
        timer = ModelTimer()
        model = build_chat_model(settings)
        model.callbacks = [timer]
        watches = (timer.watch, embedder.watch, store.watch)
        assistant = Assistant(
            settings, store=store, model=model, checkpointer=open_thread_store(settings)
        )
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(exporter))
        traced = Assistant(
            settings,
            store=store,
            model=model,
            checkpointer=assistant.checkpointer,
            interaction_log=assistant.interaction_log,
            tracer_provider=provider,
        )
        with assistant:
            run_turn(assistant, watches, WARM_UP)
            run_turn(traced, watches, WARM_UP)
            turns, traced_turns = [], []
            for number, question in enumerate(questions, start=1):
                # Alternate which goes first, so neither gains from a warmer cache.
                pair = (assistant, traced) if number % 2 else (traced, assistant)
                timed = {id(a): run_turn(a, watches, question.question) for a in pair}
                turns.append(timed[id(assistant)])
                traced_turns.append(timed[id(traced)])
                print(f"\rturns: {number}/{len(questions)}", end="", file=sys.stderr, flush=True)
            print(file=sys.stderr)
            provider.force_flush()
            spans = len(exporter.get_finished_spans())
            provider.shutdown()

    n = len(turns)
    total = sum(t.seconds for t in turns)
    parts = {
        "model calls (baseline)": [t.model for t in turns],
        "embedding (query, citation check)": [t.embedding for t in turns],
        "Qdrant (`search_vectors`)": [t.qdrant for t in turns],
    }
    overhead = sum(t.overhead_s for t in turns)
    model_s = sum(t.model.seconds for t in turns)
    per_turn = [t.overhead_s / t.seconds for t in turns]
    outcomes = Counter(t.outcome for t in turns)
    print(
        f"Graph overhead per turn, `Assistant.ask` on the embedded default (packaged model "
        f"in-process, Qdrant Edge, SQLite threads), {n} dev questions over "
        f"{report.chunks_added:,} chunks of {report.docs} passages; baseline = the model calls "
        "of the same turns\n"
    )
    print("| part of a turn | mean per turn (ms) | calls per turn | share of turn |")
    print("|---|---:|---:|---:|")
    print(f"| turn (`Assistant.ask`) | {1000 * total / n:,.1f} | | 100.0% |")
    for label, timed in parts.items():
        seconds = sum(w.seconds for w in timed)
        calls = sum(w.calls for w in timed) / n
        print(f"| {label} | {1000 * seconds / n:,.1f} | {calls:.1f} | {share(seconds, total)} |")
    print(
        f"| graph overhead (the rest) | {1000 * overhead / n:,.1f} | | {share(overhead, total)} |"
    )
    verdict = "PASS" if overhead / total <= TARGET else "FAIL"
    print(
        f"\nOverhead is {share(overhead, model_s)} of the model time; per turn it ranged "
        f"{share(min(per_turn), 1)}-{share(max(per_turn), 1)} (median "
        f"{share(statistics.median(per_turn), 1)}). Outcomes: "
        + ", ".join(f"{name} {count}" for name, count in outcomes.most_common())
        + "."
    )
    print(
        f"\nTarget: graph overhead <= {TARGET:.0%} of turn time: {verdict} "
        f"({share(overhead, total)})."
    )
    print_tracing(turns, traced_turns, spans)
    print(f"\nCommand: `{shlex.join([Path(sys.executable).name, *sys.argv])}`")


def off_path_seconds(repeats: int = 100_000) -> float:
    """What tracing off adds to a turn, timed alone: the turn's `turn_span(None)` and the
    None checks of `Assistant._config` and `_answer`."""
    started = time.perf_counter()
    for _ in range(repeats):
        with turn_span(None, "thread", "tenant"):
            pass
    return (time.perf_counter() - started) / repeats


def spans_seconds(per_turn: int, repeats: int = 2_000) -> float:
    """A turn's spans timed alone: a `turn` span over `per_turn - 1` children with attributes,
    through an SDK provider whose batch processor exports to memory."""
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    tracer = provider.get_tracer("benchmark")
    started = time.perf_counter()
    for _ in range(repeats):
        with turn_span(tracer, "thread", "tenant"):
            for _ in range(per_turn - 1):
                with tracer.start_as_current_span("node.x") as span:
                    span.set_attribute("assistant.search.k", 5)
    seconds = (time.perf_counter() - started) / repeats
    provider.shutdown()
    return seconds


def print_tracing(off: Sequence[Turn], on: Sequence[Turn], spans: int) -> None:
    n = len(off)
    turn_off = sum(t.seconds for t in off) / n
    turn_on = sum(t.seconds for t in on) / n
    over_off = sum(t.overhead_s for t in off) / n
    over_on = sum(t.overhead_s for t in on) / n
    # Per question, on minus off: the model and embedding times vary far more than this.
    cost = statistics.median(a.overhead_s - b.overhead_s for a, b in zip(on, off, strict=True))
    off_cost = off_path_seconds()
    alone = spans_seconds(round(spans / (n + 1)))
    print(
        f"\nTracing, the same {n} questions asked in turn by an assistant without tracing and "
        f"by one exporting to memory through a batch processor ({spans / (n + 1):.1f} spans "
        "per turn)\n"
    )
    print("| tracing | turn (ms) | graph overhead (ms) | tracing's cost per turn | share of turn |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| off (default) | {1000 * turn_off:,.1f} | {1000 * over_off:,.2f} | "
        f"{1e6 * off_cost:.1f} µs (timed alone) | {100 * off_cost / turn_off:.5f}% |"
    )
    print(
        f"| on | {1000 * turn_on:,.1f} | {1000 * over_on:,.2f} | "
        f"{1000 * cost:,.2f} ms (median of on - off) | {100 * cost / turn_off:.3f}% |"
    )
    print(
        f"| on, its spans timed alone | | | {1000 * alone:,.3f} ms | "
        f"{100 * alone / turn_off:.4f}% |"
    )
    verdict = "PASS" if max(cost, alone) / turn_off <= TRACING_TARGET else "FAIL"
    print(f"\nTarget: tracing on <= {TRACING_TARGET:.0%} of a turn: {verdict}.")


if __name__ == "__main__":
    main()

"""Time to first token of a streamed `POST /v1/chat` against the whole turn, on the embedded
default, in extractive and generative mode (and generative with the sentence check off).

    python benchmarks/time_to_first_token.py [--n 5] [--docs 40]

The index is built in a temporary folder as in `graph_overhead.py` (the gold passages of the
first --n dev questions and --docs others); the API runs under uvicorn on a local port, and an
HTTP client streams each question on a new thread, timing from the request to the first
`token` event and to the `final` event. The baseline, measured in the same turns, is the old
streaming: every token was sent after the turn had ended, so its first token came with the
`final` event. One untimed turn per mode first loads the weights and the calibrations.
Settings come from the environment (ASSISTANT_TORCH_THREADS, ASSISTANT_VERIFY_CITATIONS, ...),
except that the backend is the embedded model, Qdrant local mode and SQLite threads in the
temporary folder.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from assistant.evaluation.datasets import corpus_subset, load_support_qa
from assistant.ingestion.ingest import ingest_paths
from assistant.interfaces.api.in_thread import serving
from assistant.llm.gateway import build_chat_model
from assistant.schemas import Answer
from assistant.service import Assistant, open_store
from assistant.settings import Settings
from assistant.thread_store import open_thread_store

# The untimed first turn of each mode, the same question as `graph_overhead.py` warms up with.
WARM_UP = "How do I reset my password?"

# (label, answer mode, sentence check or None for the environment's)
VARIANTS = (
    ("extractive", "extractive", None),
    ("generative", "generative", None),
    ("generative, check off", "generative", "off"),
)


@dataclass(frozen=True)
class Turn:
    first_token_s: float
    whole_s: float
    outcome: str
    tokens: int
    drafting_s: float | None
    """When the generate node started, from the node timings (None: it did not run)."""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="folder with support_corpus.jsonl and support_qa_dev.jsonl",
    )
    parser.add_argument("--n", type=int, default=5, help="dev questions asked per mode")
    parser.add_argument(
        "--docs", type=int, default=40, help="corpus passages indexed besides the gold ones"
    )
    return parser.parse_args()


def streamed_turn(client: httpx.Client, url: str, question: str) -> Turn:
    """One streamed turn on a new thread, timed at the client as the events arrive."""
    started = time.perf_counter()
    first: float | None = None
    whole = 0.0
    tokens = 0
    text = ""
    event = ""
    body = {"message": question}
    with client.stream(
        "POST", f"{url}/v1/chat", json=body, headers={"Accept": "text/event-stream"}
    ) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "token":
                tokens += 1
                first = first if first is not None else time.perf_counter() - started
            elif line.startswith("data: ") and event == "final":
                whole = time.perf_counter() - started
                text = line.removeprefix("data: ")
            elif line.startswith("data: ") and event == "error":
                sys.exit(f"the turn failed: {line}")
    answer = Answer.model_validate_json(text)
    nodes = [t.node for t in answer.timings]
    drafting = (
        sum(t.ms for t in answer.timings[: nodes.index("generate")]) / 1000
        if "generate" in nodes
        else None
    )
    return Turn(
        first if first is not None else whole, whole, answer.outcome.value, tokens, drafting
    )


def percentile(values: Sequence[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def main() -> None:
    args = parse_args()
    corpus, qa = args.data / "support_corpus.jsonl", args.data / "support_qa_dev.jsonl"
    questions = load_support_qa(qa)[: args.n]
    results: dict[str, list[Turn]] = {}
    with tempfile.TemporaryDirectory(prefix="ttft-") as tmp:
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
        store = open_store(settings)
        report = ingest_paths(
            [subset], store, tenant=settings.tenant, max_chars=settings.chunk_max_chars
        )
        base = Assistant(
            settings,
            store=store,
            model=build_chat_model(settings),
            checkpointer=open_thread_store(settings),
        )
        with base, httpx.Client(timeout=600) as client:
            for label, mode, check in VARIANTS:
                update = {"answer_mode": mode, "verify_citations": check}
                variant = settings.model_copy(update={k: v for k, v in update.items() if v})
                with serving(variant, base.sharing(variant)) as url:
                    streamed_turn(client, url, WARM_UP)
                    turns = results.setdefault(label, [])
                    for number, question in enumerate(questions, start=1):
                        turns.append(streamed_turn(client, url, question.question))
                        print(
                            f"\r{label}: {number}/{len(questions)}",
                            end="",
                            file=sys.stderr,
                            flush=True,
                        )
                    print(file=sys.stderr)

    print(
        f"Streamed `POST /v1/chat` on the embedded default (packaged model in-process, Qdrant "
        f"local mode, sentence check `{settings.verify_citations}` unless said), {args.n} dev "
        f"questions per mode over {report.chunks_added:,} chunks of {report.docs} passages, "
        "timed at an HTTP client; baseline = the old streaming, whose first token came with "
        "the end of the turn\n"
    )
    print(
        "| mode | first token p50 (s) | first token p95 (s) | whole turn p50 (s) = old first "
        "token | whole turn p95 (s) | answered turns: first token before the end, p50 (s) | "
        "drafting starts at (median share of turn) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, turns in results.items():
        ttft = [t.first_token_s for t in turns]
        whole = [t.whole_s for t in turns]
        answered = [
            t.whole_s - t.first_token_s for t in turns if t.outcome in ("answered", "hedged")
        ]
        ahead = f"{percentile(answered, 0.5):.1f}" if answered else "–"
        drafting = [t.drafting_s / t.whole_s for t in turns if t.drafting_s is not None]
        starts = f"{statistics.median(drafting):.0%}" if drafting else "–"
        print(
            f"| {label} | {percentile(ttft, 0.5):.1f} | {percentile(ttft, 0.95):.1f} | "
            f"{percentile(whole, 0.5):.1f} | {percentile(whole, 0.95):.1f} | {ahead} | "
            f"{starts} |"
        )
    print()
    for label, turns in results.items():
        outcomes = Counter(t.outcome for t in turns)
        listed = ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items()))
        pieces = statistics.median(t.tokens for t in turns)
        print(f"- {label}: outcomes {listed}; median token events per turn {pieces:.0f}.")
    print(
        '\nNo answer can start before the generate node does ("drafting starts": the triage, '
        "decide, retrieve and grade steps before it). A turn that ends otherwise than with a "
        "drafted answer (a decline, a hand-over, a direct answer) sends its text at the end: "
        "its first token is the whole turn."
    )
    print(f"\nCommand: `{shlex.join(['python', *sys.argv])}`")


if __name__ == "__main__":
    main()

"""How long a user waits: `assistant search` and `assistant ask` from a cold process, a warm
embedded turn, and the API's first answer token, with each triage engine, against the floor.

    python benchmarks/turn_latency.py [--runs 3] [--n 5] [--docs 40]

The index is built in a temporary folder (the gold passages of the first --n dev questions and
--docs others). Cold: each command is a fresh process of the installed `assistant`, --runs
times, on that folder (settings from ASSISTANT_* variables: the data folder and the Qdrant Edge
path set here, the rest from the environment, no `.env`). Warm: one `Assistant` in this process
answers the --n questions, each on a new thread, after one untimed turn that loads the weights,
adapters and calibrations, each with the embedder's recent passages forgotten (the worst case:
a question whose passages no earlier turn read); the API serves the same assistant under
uvicorn on a local port and an HTTP client streams `POST /v1/chat`, timing from the request to
the first `token` event (to `final` where no answer is drafted). Each is measured with the
adapter triage engine (the LoRA adapter generating JSON) and with zero-shot triage (one
embedding, no model call).

The cold commands run on the default embedder backend (ASSISTANT_EMBEDDER_BACKEND=auto: the
embedder's ONNX export on onnxruntime, made by the ingest here into the cache folder if it is
not there yet) and again on `torch` (sentence-transformers), the baseline. Other baselines
measured in the same run: `python -c "import typer"` (what any typer command pays),
`python -c "import sentence_transformers"` (what the torch backend imports) and the raw work of
a search (one query embedding and one hybrid search, warm, in process): the table shows what the
commands add to them. Targets from issue 31: search cold <= 2 s, ask cold <= 5 s, warm embedded
turn p50 <= 0.5 s, API first token warm p50 <= 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from assistant.evaluation.datasets import corpus_subset, load_support_qa
from assistant.ingestion.ingest import ingest_paths
from assistant.interfaces.api.in_thread import serving
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.gateway import build_chat_model
from assistant.service import Assistant, open_store
from assistant.settings import Settings
from assistant.thread_store import open_thread_store

# The console script the install made, beside this interpreter (what a user runs).
ASSISTANT = str(Path(sys.executable).parent / "assistant")
ENGINES = ("adapter", "zero-shot")
WARM_UP = "How do I reset my password?"
# Settings that would point the cold commands somewhere else than the temporary folder.
UNSET = ("ASSISTANT_QDRANT_URL", "ASSISTANT_THREADS_URL", "ASSISTANT_STORE_ENGINE")


@dataclass(frozen=True)
class Row:
    measure: str
    seconds: float
    baseline: str = "–"
    target: float | None = None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="folder with support_corpus.jsonl and support_qa_dev.jsonl",
    )
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per cold command")
    parser.add_argument("--n", type=int, default=5, help="dev questions per warm measure")
    parser.add_argument(
        "--docs", type=int, default=40, help="corpus passages indexed besides the gold ones"
    )
    return parser.parse_args(argv)


def cold_seconds(command: Sequence[str], runs: int, env: dict[str, str], cwd: Path) -> float:
    """Median wall time of `command` as a fresh process; exits if it fails."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            sys.exit(f"{shlex.join(command)} failed:\n{done.stderr[-2000:]}")
    return statistics.median(times)


def median_of(work: Iterator[float]) -> float:
    return statistics.median(list(work))


def timed_searches(
    store: KnowledgeStore, settings: Settings, questions: Sequence[str]
) -> Iterator[float]:
    """The raw work of `assistant search`: one query embedding and one search, warm."""
    where = {"tenant": settings.tenant, "k": settings.top_k, "mode": settings.search_mode}
    store.search(WARM_UP, **where)  # the first query warms the encoders up
    for question in questions:
        started = time.perf_counter()
        store.search(question, **where)
        yield time.perf_counter() - started


def timed_turns(assistant: Assistant, questions: Sequence[str]) -> Iterator[float]:
    assistant.ask(WARM_UP)
    for question in questions:
        # Each turn reads its passages as if they were new: the same questions run for each
        # engine and again through the API, and what the embedder kept would flatter them.
        assistant.store.embedder.forget()
        started = time.perf_counter()
        assistant.ask(question)
        yield time.perf_counter() - started


def first_token_seconds(client: httpx.Client, url: str, question: str) -> float:
    """Seconds from the request to the first `token` event of a streamed turn (to `final`
    when the turn drafts no answer), on a new thread. The stream is read to its end, so the
    next turn never waits for this one's."""
    started = time.perf_counter()
    first: float | None = None
    event = ""
    body = {"message": question}
    headers = {"Accept": "text/event-stream"}
    with client.stream("POST", f"{url}/v1/chat", json=body, headers=headers) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "error":
                sys.exit(f"the turn failed: {line}")
            elif line.startswith("data: ") and event in {"token", "final"} and first is None:
                first = time.perf_counter() - started
    if first is None:
        sys.exit("the stream ended without a token or a final event")
    return first


def timed_first_tokens(settings: Settings, assistant: Assistant, questions: Sequence[str]) -> float:
    with serving(settings, assistant) as url, httpx.Client(timeout=600) as client:
        first_token_seconds(client, url, WARM_UP)
        seconds = []
        for question in questions:
            assistant.store.embedder.forget()  # as in `timed_turns`
            seconds.append(first_token_seconds(client, url, question))
        return statistics.median(seconds)


def cold_env(settings: Settings, engine: str, embedder_backend: str = "auto") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(
        ASSISTANT_BACKEND="embedded",
        ASSISTANT_DATA_DIR=str(settings.data_dir),
        ASSISTANT_QDRANT_PATH=str(settings.qdrant_path),
        ASSISTANT_TRIAGE_ENGINE=engine,
        ASSISTANT_EMBEDDER_BACKEND=embedder_backend,
    )
    return env


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    corpus, qa = args.data / "support_corpus.jsonl", args.data / "support_qa_dev.jsonl"
    questions = [q.question for q in load_support_qa(qa)[: args.n]]
    query = questions[0]
    rows: list[Row] = []
    typer_floor = cold_seconds(
        [sys.executable, "-c", "import typer"], args.runs, {**os.environ}, Path.cwd()
    )
    embed_floor = cold_seconds(
        [sys.executable, "-c", "import sentence_transformers"],
        args.runs,
        {**os.environ},
        Path.cwd(),
    )
    with tempfile.TemporaryDirectory(prefix="turn-latency-") as tmp:
        folder = Path(tmp)
        settings = Settings(
            _env_file=None,
            backend="embedded",
            qdrant_url=None,
            threads_url=None,
            data_dir=folder,
            qdrant_path=folder / "qdrant",
        )
        subset = folder / "corpus.jsonl"
        subset.write_text(
            "\n".join(corpus_subset(corpus, load_support_qa(qa)[: args.n], args.docs)),
            encoding="utf-8",
        )
        with open_store(settings) as store:
            report = ingest_paths(
                [subset], store, tenant=settings.tenant, max_chars=settings.chunk_max_chars
            )
            store.build_index()
            raw = median_of(timed_searches(store, settings, questions))
        on_torch = settings.model_copy(update={"embedder_backend": "torch"})
        with open_store(on_torch) as store:
            raw_torch = median_of(timed_searches(store, on_torch, questions))

        # Cold commands, each a fresh process on the folder (the store is closed here).
        search = [ASSISTANT, "search", query]
        search_s = cold_seconds(search, args.runs, cold_env(settings, "adapter"), folder)
        search_torch_s = cold_seconds(
            search, args.runs, cold_env(settings, "adapter", "torch"), folder
        )
        ask = [ASSISTANT, "ask", query]
        ask_s = {
            engine: cold_seconds(ask, args.runs, cold_env(settings, engine), folder)
            for engine in ENGINES
        }
        # The baseline on torch with the default engine on the embedded backend (zero-shot).
        ask_torch_s = cold_seconds(ask, args.runs, cold_env(settings, "zero-shot", "torch"), folder)
        print("cold commands done", file=sys.stderr, flush=True)

        # Warm: one assistant in this process, each triage engine on the same store and model.
        base = Assistant(
            settings,
            store=open_store(settings),
            model=build_chat_model(settings),
            checkpointer=open_thread_store(settings),
        )
        warm: dict[str, float] = {}
        first: dict[str, float] = {}
        with base:
            for engine in ENGINES:
                variant = settings.model_copy(update={"triage_engine": engine})
                assistant = base.sharing(variant)
                warm[engine] = median_of(timed_turns(assistant, questions))
                first[engine] = timed_first_tokens(variant, assistant, questions)
                print(f"warm {engine} done", file=sys.stderr, flush=True)
        with Assistant(
            on_torch.model_copy(update={"triage_engine": "zero-shot"}),
            store=open_store(on_torch),
            model=build_chat_model(on_torch),
            checkpointer=open_thread_store(on_torch),
        ) as assistant:
            warm_torch = median_of(timed_turns(assistant, questions))

    floor = f"import typer {typer_floor:.2f} s"
    rows.append(Row('`python -c "import typer"` (floor)', typer_floor))
    rows.append(Row('`python -c "import sentence_transformers"`', embed_floor, floor))
    rows.append(Row("one query embedding + one hybrid search, warm, embedder on torch", raw_torch))
    rows.append(
        Row(
            "one query embedding + one hybrid search, warm (raw work), embedder on onnxruntime",
            raw,
            f"torch {raw_torch:.3f} s",
        )
    )
    search_base = embed_floor + raw
    rows.append(
        Row(
            "`assistant search` cold, embedder on torch (ASSISTANT_EMBEDDER_BACKEND=torch)",
            search_torch_s,
            f"import sentence_transformers + raw work {search_base:.2f} s; "
            f"adds {search_torch_s - search_base:+.2f} s",
            2.0,
        )
    )
    rows.append(
        Row(
            "`assistant search` cold, embedder on onnxruntime (default)",
            search_s,
            f"torch backend {search_torch_s:.2f} s; {search_s - search_torch_s:+.2f} s",
            2.0,
        )
    )
    rows.append(
        Row(
            "`assistant ask` cold, triage zero-shot, embedder on torch",
            ask_torch_s,
            f"search cold on torch + warm turn {search_torch_s + warm_torch:.2f} s",
            5.0,
        )
    )
    for engine in ENGINES:
        rows.append(
            Row(
                f"`assistant ask` cold, triage {engine}",
                ask_s[engine],
                f"search cold + warm turn {search_s + warm[engine]:.2f} s; "
                f"adds {ask_s[engine] - search_s - warm[engine]:+.2f} s"
                + (f"; on torch {ask_torch_s:.2f} s" if engine == "zero-shot" else ""),
                5.0,
            )
        )
    rows.append(
        Row("warm embedded turn p50, triage zero-shot, embedder on torch", warm_torch, "–", 0.5)
    )
    for engine in ENGINES:
        rows.append(
            Row(
                f"warm embedded turn p50, triage {engine}",
                warm[engine],
                f"raw work {raw:.3f} s",
                0.5,
            )
        )
    for engine in ENGINES:
        rows.append(
            Row(f"API first answer token p50, warm, triage {engine}", first[engine], "–", 0.5)
        )

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"Wall times on the embedded default (packaged model in-process, Qdrant Edge), "
        f"{report.chunks_added:,} chunks of {report.docs} passages; cold = median of "
        f"{args.runs} fresh processes, warm = median of {args.n} dev questions on new threads; "
        f"{os.cpu_count()} CPUs, load average {load:.1f} at the end; torch threads "
        f"{settings.torch_threads or 'default'} (ASSISTANT_TORCH_THREADS), OMP_WAIT_POLICY "
        f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}\n"
    )
    print("| measure | seconds | baseline in this run | target (s) | meets |")
    print("|---|---:|---|---:|---|")
    for row in rows:
        target = "–" if row.target is None else f"{row.target:g}"
        meets = "–" if row.target is None else ("yes" if row.seconds <= row.target else "no")
        print(f"| {row.measure} | {row.seconds:.2f} | {row.baseline} | {target} | {meets} |")
    print(
        "\nA cold command pays its imports and the model loads before its work; `assistant "
        "search` loads the store and the embedder only, never the chat model. On onnxruntime "
        "the embedder imports neither torch nor transformers."
    )
    given = sys.argv[1:] if argv is None else list(argv)
    print(f"\nCommand: `{shlex.join(['python', 'benchmarks/turn_latency.py', *given])}`")


if __name__ == "__main__":
    main()

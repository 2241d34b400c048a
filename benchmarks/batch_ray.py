"""`triage-batch --ray` against the single-process path, on the classifier engine, in one run.

    python benchmarks/batch_ray.py [--tickets 1000] [--rounds 2] [--fit-every 10]

The tickets are BANKING77's dev hold-out (the hash split the classifier is not fitted on),
seeded; the classifier is fitted here on every --fit-every'th train row (or loaded from
--classifier). Each run is the command's own function, `triage_batch_command(IN, -o OUT)`, in
this process, timed whole: reading the input, loading the engine, triaging, writing OUT. The
Ray runs start Ray on this machine and stop it, as `--ray` without an address does, so their
time includes Ray's start-up and each worker's engine load. The runs alternate, their order
reversed every round, and the median round is reported; the baseline is the single-process
path of the same round.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shlex
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from assistant.interfaces.cli.batch_commands import triage_batch_command
from assistant.knowledge.embedder import load_embedder
from assistant.policy import shipped_policy
from assistant.settings import Settings
from assistant.triage.classifier import TriageClassifier
from assistant.triage.examples import LabelledText, is_dev, read_banking77

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "banking77_train.jsonl"
TARGET = 0.9
SINGLE = "single process (baseline)"


@dataclass(frozen=True)
class Scenario:
    name: str
    ray_workers: int | None  # None: the single-process path
    worker_cpus: float = 1.0


SCENARIOS = (
    Scenario(SINGLE, None),
    Scenario("`--ray`, 1 worker × 1 CPU", 1, 1.0),
    Scenario("`--ray`, 1 worker × 2 CPUs", 1, 2.0),
    Scenario("`--ray`, 2 workers × 1 CPU", 2, 1.0),
)


def run(scenario: Scenario, source: Path, output: Path, env: dict[str, str]) -> float:
    """Seconds of one whole `triage-batch` run; its bar and summary go to /dev/null."""
    extra = {"ASSISTANT_RAY_WORKER_CPUS": str(scenario.worker_cpus)}
    with (
        mock.patch.dict(os.environ, {**env, **extra}),
        open(os.devnull, "w") as null,
        contextlib.redirect_stdout(null),
        contextlib.redirect_stderr(null),
    ):
        start = time.perf_counter()
        if scenario.ray_workers is None:
            triage_batch_command(source, output)
        else:
            triage_batch_command(source, output, ray=True, ray_workers=scenario.ray_workers)
        return time.perf_counter() - start


def accuracy(output: Path, gold: dict[str, str]) -> tuple[float, int]:
    """Share of tickets whose category is the gold label, and how many records OUT holds."""
    found = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    hits = sum(record.get("category") == gold[record["id"]] for record in found)
    return hits / len(gold), len(found)


def tickets(args: argparse.Namespace) -> tuple[list[LabelledText], list[LabelledText]]:
    rows = read_banking77(args.data)
    dev = [row for row in rows if is_dev(row.text)]
    random.Random(args.seed).shuffle(dev)
    train = [row for row in rows if not is_dev(row.text)][:: args.fit_every]
    return train, dev[: args.tickets]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--tickets", type=int, default=1000, help="dev tickets per run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fit-every", type=int, default=10, help="fit on every n-th train row")
    parser.add_argument("--classifier", type=Path, help="a fit-classifier folder to load")
    args = parser.parse_args()

    train, dev = tickets(args)
    with tempfile.TemporaryDirectory(prefix="batch-ray-") as tmp:
        folder = args.classifier or Path(tmp) / "classifier"
        if args.classifier is None:
            embedder = load_embedder(Settings(_env_file=None).embedder)  # type: ignore[call-arg]
            TriageClassifier.fit(train, shipped_policy(), embedder, data_name=DATA.name).save(
                folder
            )
        source = Path(tmp) / "tickets.jsonl"
        source.write_text(
            "".join(json.dumps({"id": f"t{i}", "body": r.text}) + "\n" for i, r in enumerate(dev)),
            encoding="utf-8",
        )
        gold = {f"t{i}": row.label for i, row in enumerate(dev)}
        env = {
            "ASSISTANT_TRIAGE_ENGINE": "classifier",
            "ASSISTANT_TRIAGE_CLASSIFIER_DIR": str(folder),
            "ASSISTANT_DATA_DIR": str(Path(tmp) / "data"),
        }
        seconds: dict[str, list[float]] = {s.name: [] for s in SCENARIOS}
        ratios: dict[str, list[float]] = {s.name: [] for s in SCENARIOS}
        scores: dict[str, tuple[float, int]] = {}
        for number in range(args.rounds):
            order = SCENARIOS if number % 2 == 0 else tuple(reversed(SCENARIOS))
            for index, scenario in enumerate(order):
                # A new OUT each run: an existing one would be resumed, i.e. skipped.
                output = Path(tmp) / f"out-{number}-{index}.jsonl"
                seconds[scenario.name].append(run(scenario, source, output, env))
                scores[scenario.name] = accuracy(output, gold)
                rate = len(dev) / seconds[scenario.name][-1]
                print(f"round {number + 1}: {scenario.name}: {rate:.1f} tickets/s", file=sys.stderr)
            for scenario in SCENARIOS:
                ratios[scenario.name].append(seconds[SINGLE][-1] / seconds[scenario.name][-1])

    n = len(dev)
    print(
        f"`triage-batch` on the classifier engine (fitted on {len(train)} BANKING77 train "
        f"rows), {n} dev tickets, blocks of {Settings(_env_file=None).batch_block_rows} rows; "  # type: ignore[call-arg]
        f"whole command in process, median of {args.rounds} interleaved rounds; "
        f"{os.cpu_count()} CPUs\n"
    )
    print("| run | tickets/s | vs single process | seconds | each round (tickets/s) | accuracy |")
    print("|---|---:|---:|---:|---|---:|")
    for scenario in SCENARIOS:
        times = seconds[scenario.name]
        median = statistics.median(times)
        ratio = statistics.median(ratios[scenario.name])
        each = " / ".join(f"{n / s:.1f}" for s in times)
        score, records = scores[scenario.name]
        assert records == n, f"{scenario.name}: {records} records for {n} tickets"
        print(
            f"| {scenario.name} | {n / median:.1f} | {ratio:.2f}x | {median:.1f} | {each} | "
            f"{score:.3f} |"
        )
    one = statistics.median(ratios[SCENARIOS[1].name])
    verdict = "PASS" if one >= TARGET else "FAIL"
    print(f"\nTarget: `--ray` with 1 worker >= {TARGET}x single process: {verdict} ({one:.2f}x).")
    print(f"\nCommand: `{shlex.join([Path(sys.executable).name, *sys.argv])}`")


if __name__ == "__main__":
    main()

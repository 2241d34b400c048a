"""Run the CPU benchmarks one after another and write each one's table into README.md.

    python benchmarks/run_all.py [--quick] [--only retrieval_latency ask_memory]

Each benchmark runs as its own process (so one's memory and threads never touch another's
numbers); what it prints (table, notes, command line) replaces the README block between
`<!-- benchmarks:NAME:start -->` and `<!-- benchmarks:NAME:end -->`. The README is written after
each benchmark, so a failure later keeps the tables already made. --quick runs smaller sizes
(minutes, not half an hour); its tables are for checking the pipeline, not for the README of a
release. `lora_serving.py` and `parity.py` need vLLM and are not run here.

    python benchmarks/run_all.py --only NAME --from-file OUTPUT

writes what a benchmark printed in an earlier run (say on another machine), saved to OUTPUT,
into NAME's block instead of running it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Benchmark:
    script: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()


BENCHMARKS = {
    "retrieval": Benchmark("retrieval.py"),
    "retrieval_latency": Benchmark(
        "retrieval_latency.py",
        ("--sizes", "1000,10000,100000"),
        ("--sizes", "1000,5000", "--queries", "10", "--base", "200", "--ingest-docs", "20"),
    ),
    # A turn of the embedded model takes up to a minute on a loaded 2-core machine.
    "graph_overhead": Benchmark("graph_overhead.py", ("--n", "10"), ("--n", "2", "--docs", "20")),
    "time_to_first_token": Benchmark(
        "time_to_first_token.py", ("--n", "5"), ("--n", "2", "--docs", "10")
    ),
    "ask_memory": Benchmark("ask_memory.py"),
    "triage_zero_shot": Benchmark(
        "triage_zero_shot.py", ("--adapter-limit", "10"), ("--n", "100", "--adapter-limit", "0")
    ),
    "triage_support_policy": Benchmark("triage_support_policy.py"),
    "cli_startup": Benchmark("cli_startup.py", (), ("--runs", "3")),
    # Cold `assistant search`/`ask` processes, then warm turns and the API, per triage engine.
    "turn_latency": Benchmark("turn_latency.py", (), ("--runs", "1", "--n", "2", "--docs", "10")),
    "ingest_formats": Benchmark("ingest_formats.py", (), ("--copies", "5", "--runs", "1")),
    "batch_ray": Benchmark("batch_ray.py", (), ("--tickets", "200", "--rounds", "1")),
    # Each replayed conversation is three turns of the embedded model (live, then both offline).
    "experiment_replay": Benchmark(
        "experiment_replay.py", ("--n", "30", "--docs", "30"), ("--n", "3", "--docs", "10")
    ),
}


class MarkerError(ValueError):
    """The README lacks a benchmark's start/end markers, or has them more than once or out of
    order."""


def markers(name: str) -> tuple[str, str]:
    return f"<!-- benchmarks:{name}:start -->", f"<!-- benchmarks:{name}:end -->"


def replace_block(text: str, name: str, body: str) -> str:
    """`text` with everything between the markers of benchmark `name` replaced by `body`.

    The markers stay; `body` sits on its own lines between them. Raises `MarkerError` when
    either marker is missing or repeated, or the end marker comes first.
    """
    start, end = markers(name)
    for marker in (start, end):
        found = text.count(marker)
        if found != 1:
            problem = "has no" if found == 0 else f"has {found} copies of the"
            raise MarkerError(
                f"README {problem} marker {marker!r}: put one {start!r} line and one {end!r} "
                "line where the benchmark's table should go"
            )
    head, rest = text.split(start)
    if end not in rest:
        raise MarkerError(f"README has {end!r} before {start!r}")
    _, tail = rest.split(end)
    return f"{head}{start}\n{body.strip()}\n{end}{tail}"


def run(name: str, quick: bool) -> str:
    """Run one benchmark from the repository root (so it prints a repo-relative command)."""
    bench = BENCHMARKS[name]
    command = [
        sys.executable,
        f"benchmarks/{bench.script}",
        *(bench.quick if quick else bench.full),
    ]
    print(f"== {name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    # stderr (progress bars, model loading) goes straight to ours; stdout is the table.
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.PIPE, text=True, check=False)
    print(f"== {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed with exit code {done.returncode}:\n{done.stdout}")
    return done.stdout


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick check")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), default=list(BENCHMARKS))
    parser.add_argument("--readme", type=Path, default=REPO / "README.md")
    parser.add_argument(
        "--from-file",
        type=Path,
        help="a benchmark's saved output: written into the block of the one --only, not run",
    )
    args = parser.parse_args(argv)
    if args.from_file is not None and len(args.only) != 1:
        parser.error("--from-file needs exactly one benchmark in --only")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    text = args.readme.read_text(encoding="utf-8")
    # Fail before half an hour of benchmarks, not after.
    try:
        for name in args.only:
            replace_block(text, name, "")
    except MarkerError as exc:
        sys.exit(f"{args.readme}: {exc}")
    if args.from_file is not None:
        output = args.from_file.read_text(encoding="utf-8")
        args.readme.write_text(replace_block(text, args.only[0], output), encoding="utf-8")
        return
    failed = []
    for name in args.only:
        try:
            output = run(name, args.quick)
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            failed.append(name)
            continue
        print(output, flush=True)
        text = replace_block(args.readme.read_text(encoding="utf-8"), name, output)
        args.readme.write_text(text, encoding="utf-8")
    if failed:
        sys.exit(f"failed: {', '.join(failed)} (their README blocks are unchanged)")


if __name__ == "__main__":
    main()

"""How long the command line takes to answer before it does any work, against bare typer.

    python benchmarks/cli_startup.py [--runs 7]

Each command runs as a fresh process, --runs times; the table gives the median wall time and
its ratio to `python -c "import typer"` timed in the same run (the floor any typer CLI pays).
The commands import the model, store and graph stacks only in their bodies, so `--help` and a
bad option never load torch. Target: `assistant --help` within 3x of the floor.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

TARGET_RATIO = 3.0
# The console script the install made, beside this interpreter (what a user runs).
ASSISTANT = str(Path(sys.executable).parent / "assistant")
FLOOR = [sys.executable, "-c", "import typer"]
COMMANDS: dict[str, list[str]] = {
    'python -c "import typer"': FLOOR,
    "assistant --help": [ASSISTANT, "--help"],
    "assistant ask --help": [ASSISTANT, "ask", "--help"],
    "assistant eval --help": [ASSISTANT, "eval", "--help"],
    "assistant adapters --help": [ASSISTANT, "adapters", "--help"],
    "assistant ask (no question: usage error)": [ASSISTANT, "ask"],
}


def median_seconds(command: Sequence[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    medians = {name: median_seconds(command, args.runs) for name, command in COMMANDS.items()}
    floor = medians['python -c "import typer"']
    print(f"| command (median of {args.runs} fresh processes) | seconds | x import typer |")
    print("|---|---:|---:|")
    for name, seconds in medians.items():
        print(f"| {name} | {seconds:.2f} | {seconds / floor:.1f} |")
    ratio = medians["assistant --help"] / floor
    verdict = "meets" if ratio <= TARGET_RATIO else "misses"
    target = f"{TARGET_RATIO:.0f}x"
    print(f"\n`assistant --help` is {ratio:.1f}x the floor: {verdict} the {target} target.")
    given = sys.argv[1:] if argv is None else list(argv)
    print(f"\nCommand: `{shlex.join(['python', 'benchmarks/cli_startup.py', *given])}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Peak memory of `assistant ask "..."` on the embedded default, against a bare
`import torch, transformers` and the chat model alone, all measured in the same run.

    python benchmarks/ask_memory.py [--corpus docs] [--question "..."]

Every measured command is the real thing run as a child process; its peak resident set size
is the kernel's `ru_maxrss` for that child (`os.wait4`). `assistant ingest` first builds the
index from --corpus in a temporary data folder (ASSISTANT_DATA_DIR, ASSISTANT_QDRANT_PATH),
then `assistant ask` answers over it. The environment's other settings apply, except that the
backend is the embedded model and the index Qdrant Edge. Target: `assistant ask` <= 2 GiB.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_MIB = 2048
QUESTION = "How do I point the assistant at a vLLM server?"
MODEL_ALONE = (
    "from assistant.llm.gateway import build_chat_model; "
    "from assistant.settings import Settings; "
    "build_chat_model(Settings()).invoke('Hello')"
)
# Converts the packaged model into the cache on first use ever: done before measuring, so
# no measured process pays for a one-off conversion.
PREPARE = (
    "from assistant.llm.packaged import resolve_model_folder; "
    "from assistant.settings import Settings; "
    "resolve_model_folder(Settings())"
)


@dataclass(frozen=True)
class Peak:
    label: str
    mib: float
    seconds: float


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=REPO / "docs", help="what `assistant ingest` indexes"
    )
    parser.add_argument("--question", default=QUESTION)
    return parser.parse_args()


def peak_rss(label: str, command: Sequence[str], env: Mapping[str, str], log: Path) -> Peak:
    """Run `command` to the end; its peak RSS (its own, or a waited-for child's if larger)."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        # wait4 (not RUSAGE_CHILDREN) gives this child's own peak, not the largest of all
        # children so far.
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        sys.exit(f"{shlex.join(command)} failed ({process.returncode}):\n{log.read_text()}")
    # Linux reports ru_maxrss in KiB.
    return Peak(label, usage.ru_maxrss / 1024, seconds)


def main() -> None:
    args = parse_args()
    python = sys.executable
    cli = str(Path(python).with_name("assistant"))
    with tempfile.TemporaryDirectory(prefix="ask-memory-") as tmp:
        env = {
            **os.environ,
            "ASSISTANT_DATA_DIR": tmp,
            "ASSISTANT_QDRANT_PATH": str(Path(tmp) / "qdrant"),
            "ASSISTANT_BACKEND": "embedded",
        }
        for name in ("QDRANT_URL", "ASSISTANT_QDRANT_URL"):
            env.pop(name, None)
        log = Path(tmp) / "out.log"
        peak_rss("prepare", [python, "-c", PREPARE], env, log)
        peaks = [
            peak_rss(
                "`python -c 'import torch, transformers'` (baseline)",
                [python, "-c", "import torch, transformers"],
                env,
                log,
            ),
            peak_rss(
                "`python -c 'import assistant.interfaces.cli.main'` (the CLI's imports)",
                [python, "-c", "import assistant.interfaces.cli.main"],
                env,
                log,
            ),
            peak_rss("chat model alone: load + one reply", [python, "-c", MODEL_ALONE], env, log),
            peak_rss(
                f"`assistant ingest {args.corpus.name}/`",
                [cli, "ingest", str(args.corpus)],
                env,
                log,
            ),
            peak_rss("`assistant ask` (one turn)", [cli, "ask", args.question], env, log),
        ]
    base = peaks[0].mib
    print(
        "Peak RSS of one process, embedded default (packaged model in-process, Qdrant Edge); "
        "baseline = a bare `import torch, transformers` in the same run\n"
    )
    print("| process | peak RSS (MiB) | vs baseline | wall (s) |")
    print("|---|---:|---:|---:|")
    for peak in peaks:
        print(f"| {peak.label} | {peak.mib:,.0f} | {peak.mib / base:.2f}x | {peak.seconds:.1f} |")
    ask = peaks[-1].mib
    verdict = "PASS" if ask <= TARGET_MIB else "FAIL"
    print(
        f"\nTarget: `assistant ask` peak RSS <= 2 GiB ({TARGET_MIB:,} MiB): {verdict} "
        f"({ask:,.0f} MiB, {ask / 1024:.2f} GiB)."
    )
    print(f"\nCommand: `{shlex.join([Path(python).name, *sys.argv])}`")


if __name__ == "__main__":
    main()

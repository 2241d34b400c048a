"""`benchmarks/run_all.py` writes each benchmark's table between its README markers.

Run as a script, the way it is used (benchmarks are scripts, not a package the tests import):
`--from-file` writes a saved output instead of running the benchmark, so no benchmark runs here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "run_all.py"

README = """# Project

## Benchmarks

<!-- benchmarks:ask_memory:start -->
| old | table |
<!-- benchmarks:ask_memory:end -->

After the table.
"""


def run_all(tmp_path: Path, readme: str, *args: str) -> tuple[subprocess.CompletedProcess, str]:
    """Run the script on a README holding `readme`; the result and the README afterwards."""
    path = tmp_path / "README.md"
    path.write_text(readme, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--readme", str(path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done, path.read_text(encoding="utf-8")


def write_table(tmp_path: Path, readme: str, body: str, name: str = "ask_memory") -> str:
    output = tmp_path / "output.txt"
    output.write_text(body, encoding="utf-8")
    done, new = run_all(tmp_path, readme, "--only", name, "--from-file", str(output))
    assert done.returncode == 0, done.stderr
    return new


def test_the_table_replaces_only_the_text_between_the_markers(tmp_path: Path) -> None:
    new = write_table(tmp_path, README, "| new | table |\n\nCommand: `x`\n")

    assert new == README.replace("| old | table |", "| new | table |\n\nCommand: `x`")
    assert "| old |" not in new


def test_writing_the_same_table_again_changes_nothing(tmp_path: Path) -> None:
    once = write_table(tmp_path, README, "| new |")

    assert write_table(tmp_path, once, "| new |") == once


def test_other_benchmarks_blocks_are_left_alone(tmp_path: Path) -> None:
    text = README + "<!-- benchmarks:retrieval:start -->\nkeep\n<!-- benchmarks:retrieval:end -->\n"

    new = write_table(tmp_path, text, "| new |")

    assert "<!-- benchmarks:retrieval:start -->\nkeep\n" in new
    assert "| new |" in new


def test_a_missing_marker_stops_the_run_before_any_benchmark_and_names_it(
    tmp_path: Path,
) -> None:
    # Without --from-file: ask_memory would run first (and take a while) if the check came after.
    done, after = run_all(tmp_path, README, "--only", "ask_memory", "retrieval")

    assert done.returncode != 0
    assert "has no marker '<!-- benchmarks:retrieval:start" in done.stderr
    assert "== ask_memory" not in done.stderr  # nothing was started
    assert after == README


def test_a_missing_end_marker_is_an_error(tmp_path: Path) -> None:
    text = README.replace("<!-- benchmarks:ask_memory:end -->", "")

    done, after = run_all(tmp_path, text, "--only", "ask_memory", "--from-file", str(SCRIPT))

    assert done.returncode != 0
    assert "benchmarks:ask_memory:end" in done.stderr
    assert after == text


def test_markers_in_the_wrong_order_are_an_error(tmp_path: Path) -> None:
    start, end = "<!-- benchmarks:ask_memory:start -->", "<!-- benchmarks:ask_memory:end -->"
    text = f"{end}\n| old |\n{start}\n"

    done, after = run_all(tmp_path, text, "--only", "ask_memory", "--from-file", str(SCRIPT))

    assert done.returncode != 0
    assert "before" in done.stderr
    assert after == text


def test_a_repeated_marker_is_an_error(tmp_path: Path) -> None:
    done, after = run_all(
        tmp_path, README + README, "--only", "ask_memory", "--from-file", str(SCRIPT)
    )

    assert done.returncode != 0
    assert "2 copies" in done.stderr
    assert after == README + README


def test_a_saved_output_goes_to_exactly_one_benchmark(tmp_path: Path) -> None:
    done, after = run_all(
        tmp_path, README, "--only", "ask_memory", "retrieval", "--from-file", str(SCRIPT)
    )

    assert done.returncode == 2  # argparse's usage error
    assert "exactly one benchmark" in done.stderr
    assert after == README

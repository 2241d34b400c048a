from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "run_all.py"


def load_run_all() -> ModuleType:
    # benchmarks/ is a folder of scripts, not a package: load the file itself.
    spec = importlib.util.spec_from_file_location("benchmarks_run_all", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up by name while the class body runs.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


run_all = load_run_all()

README = """# Project

## Benchmarks

<!-- benchmarks:ask_memory:start -->
| old | table |
<!-- benchmarks:ask_memory:end -->

After the table.
"""


def test_replace_block_swaps_only_the_text_between_the_markers() -> None:
    new = run_all.replace_block(README, "ask_memory", "| new | table |\n\nCommand: `x`\n")

    assert new == README.replace("| old | table |", "| new | table |\n\nCommand: `x`")
    assert "| old |" not in new


def test_replace_block_is_stable_when_run_again() -> None:
    once = run_all.replace_block(README, "ask_memory", "| new |")

    assert run_all.replace_block(once, "ask_memory", "| new |") == once


def test_replace_block_leaves_other_benchmarks_blocks_alone() -> None:
    text = README + "<!-- benchmarks:retrieval:start -->\nkeep\n<!-- benchmarks:retrieval:end -->\n"

    new = run_all.replace_block(text, "ask_memory", "| new |")

    assert "<!-- benchmarks:retrieval:start -->\nkeep\n" in new


def test_a_missing_marker_is_an_error_that_names_it() -> None:
    with pytest.raises(
        run_all.MarkerError, match=r"has no marker '<!-- benchmarks:retrieval:start"
    ):
        run_all.replace_block(README, "retrieval", "| new |")


def test_a_missing_end_marker_is_an_error() -> None:
    text = README.replace("<!-- benchmarks:ask_memory:end -->", "")

    with pytest.raises(run_all.MarkerError, match="benchmarks:ask_memory:end"):
        run_all.replace_block(text, "ask_memory", "| new |")


def test_markers_in_the_wrong_order_are_an_error() -> None:
    start, end = run_all.markers("ask_memory")
    text = f"{end}\n| old |\n{start}\n"

    with pytest.raises(run_all.MarkerError, match="before"):
        run_all.replace_block(text, "ask_memory", "| new |")


def test_a_repeated_marker_is_an_error() -> None:
    with pytest.raises(run_all.MarkerError, match="2 copies"):
        run_all.replace_block(README + README, "ask_memory", "| new |")

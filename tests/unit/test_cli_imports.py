"""The command line loads the heavy stacks only in the commands that use them."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "torch",
    "transformers",
    "sentence_transformers",
    "langgraph",
    "qdrant_client",
    "fastapi",
    "ray",
    "pyarrow",
)


def test_building_the_cli_imports_no_model_store_or_server_stack() -> None:
    probe = (
        "import sys, assistant.interfaces.cli.main; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_help_lists_every_command_without_loading_them() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from assistant.interfaces.cli.main import app; app()", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for command in ("ingest", "ask", "search", "eval", "adapters", "triage-batch", "serve"):
        assert command in done.stdout
    assert "--verbose" in done.stdout

"""The command line and the service load the heavy stacks only where they are used."""

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


# What `import assistant.service` must not import: the embedder's and the model's stacks load
# when a store or a model is opened, scikit-learn only to fit, langchain-openai for a server.
NOT_WITH_THE_SERVICE = (
    "torch",
    "transformers",
    "sentence_transformers",
    "sklearn",
    "peft",
    "langchain_openai",
    "qdrant_client",
    "fastapi",
)


def imported_by(statement: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` a fresh interpreter has imported after running `statement`."""
    probe = f"import sys; {statement}; print(','.join(m for m in {modules!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [m for m in done.stdout.strip().split(",") if m]


def test_importing_the_service_loads_no_model_embedder_or_store_stack() -> None:
    assert imported_by("import assistant.service", NOT_WITH_THE_SERVICE) == []


def test_the_search_command_needs_no_graph_or_chat_model() -> None:
    # `assistant search` opens the store alone: the store module brings no graph, no model.
    statement = "import assistant.interfaces.cli.main, assistant.knowledge.store"
    assert imported_by(statement, ("langgraph", "torch", "peft", "langchain_openai")) == []


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

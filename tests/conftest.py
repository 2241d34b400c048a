from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import Settings

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


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

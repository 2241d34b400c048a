"""Real components for the retrieval tests: the packaged embedder and the embedded Qdrant
(Edge by default; tests that run on both engines set `settings.store_engine`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.ingestion.ingest import ingest_paths
from assistant.knowledge.embedder import Embedder, load_embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.embedded import EmbeddedChatModel
from assistant.schemas import IngestReport
from assistant.settings import Settings

CORPUS = "support_corpus.jsonl"
TENANT = "acme"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """Loaded once: the real packaged all-MiniLM-L6-v2."""
    return load_embedder(Settings(_env_file=None).embedder)


@pytest.fixture(scope="session")
def sparse() -> SparseEncoder:
    return SparseEncoder()


@pytest.fixture
def store(
    settings: Settings, embedder: Embedder, sparse: SparseEncoder
) -> Iterator[KnowledgeStore]:
    """An empty store in a temporary folder, on the settings' embedded engine."""
    with KnowledgeStore.open(settings, embedder=embedder, sparse=sparse) as opened:
        opened.ensure_collection()
        yield opened


@pytest.fixture(scope="session")
def corpus_slice(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 12 passages of the support corpus, as a JSONL file outside the repo."""
    lines = (shared_data / CORPUS).read_text(encoding="utf-8").splitlines()[:12]
    path = tmp_path_factory.mktemp("slice") / "slice.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def corpus_records(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def corpus_store(
    shared_data: Path,
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    sparse: SparseEncoder,
) -> Iterator[tuple[KnowledgeStore, IngestReport]]:
    """The whole support corpus ingested once for tenant `acme` (about two minutes on 2 cores)."""
    root = tmp_path_factory.mktemp("corpus")
    settings = Settings(
        _env_file=None, data_dir=root / "data", qdrant_path=root / "qdrant", cache_dir=root
    )
    with KnowledgeStore.open(settings, embedder=embedder, sparse=sparse) as opened:
        opened.ensure_collection()
        report = ingest_paths(
            [shared_data / CORPUS], opened, tenant=TENANT, max_chars=settings.chunk_max_chars
        )
        yield opened, report


@pytest.fixture(scope="session")
def chat_model() -> EmbeddedChatModel:
    """The real packaged SmolLM2 as the default settings build it (with the shipped adapters).

    Converted once per machine into the user's cache folder, loaded once per session.
    """
    model = EmbeddedChatModel.from_settings(Settings(_env_file=None, torch_threads=1))
    model.load()
    return model

"""A folder written by Qdrant local mode (the embedded engine before Qdrant Edge): refused with
the command that fixes it, and `assistant reindex` moves it to Edge without losing a chunk."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.errors import StoreUnavailableError
from assistant.ingestion.ingest import ingest_paths
from assistant.interfaces.cli.main import app
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.reindex import backup_folder
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore
from assistant.settings import SearchMode, Settings

from .conftest import TENANT

QUERY = "how do I get a veterans pension"
MODES: tuple[SearchMode, ...] = ("hybrid", "dense", "sparse")


@pytest.fixture
def local_mode(
    settings: Settings, corpus_slice: Path, embedder: Embedder, sparse: SparseEncoder
) -> dict[SearchMode, list[tuple[str, float]]]:
    """The corpus slice in a local-mode folder at `settings.qdrant_path`; its search results."""
    local = settings.model_copy(update={"store_engine": "local"})
    with KnowledgeStore.open(local, embedder=embedder, sparse=sparse) as store:
        ingest_paths([corpus_slice], store, tenant=TENANT, max_chars=1200)
        return {mode: results(store, mode) for mode in MODES}


def results(store: KnowledgeStore, mode: SearchMode) -> list[tuple[str, float]]:
    return [(r.chunk_id, r.score) for r in store.search(QUERY, tenant=TENANT, k=5, mode=mode)]


def ranked(found: list[tuple[str, float]]) -> list[tuple[float, str]]:
    return sorted((round(score, 4), chunk) for chunk, score in found)


def test_a_local_mode_folder_is_refused_naming_it_and_the_reindex_command(
    settings: Settings,
    local_mode: dict[SearchMode, list[tuple[str, float]]],
    embedder: Embedder,
    sparse: SparseEncoder,
) -> None:
    with pytest.raises(StoreUnavailableError, match="assistant reindex") as refused:
        KnowledgeStore.open(settings, embedder=embedder, sparse=sparse)

    assert f"{settings.qdrant_path} holds an index written by Qdrant local mode" in str(
        refused.value
    )


def test_reindex_moves_every_chunk_to_edge_and_search_answers_the_same(
    settings: Settings,
    local_mode: dict[SearchMode, list[tuple[str, float]]],
    embedder: Embedder,
    sparse: SparseEncoder,
) -> None:
    env = {"ASSISTANT_DATA_DIR": str(settings.data_dir)}
    env["ASSISTANT_QDRANT_PATH"] = str(settings.qdrant_path)
    local = settings.model_copy(update={"store_engine": "local"})
    with KnowledgeStore.open(local, embedder=embedder, sparse=sparse) as store:
        stored = store.count()

    result = CliRunner().invoke(app, ["reindex"], env=env)

    assert result.exit_code == 0, result.output
    assert f"knowledge_base: {stored} chunks" in result.output
    with KnowledgeStore.open(settings, embedder=embedder, sparse=sparse) as edge:
        assert edge.count() == edge.count(TENANT) == stored
        for mode, expected in local_mode.items():
            found = results(edge, mode)
            assert [score for _, score in found] == pytest.approx(
                [score for _, score in expected], abs=1e-4
            ), mode
            # Chunks with equal scores (RRF ties) may come in another order.
            assert ranked(found) == ranked(expected), mode
    # Nothing is lost: local mode's folder is kept, and still opens.
    kept = local.model_copy(update={"qdrant_path": backup_folder(settings.qdrant_path)})
    with KnowledgeStore.open(kept, embedder=embedder, sparse=sparse) as old:
        assert old.count() == stored

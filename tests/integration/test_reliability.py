"""Faults a deployment meets: an ingest killed mid-way, two processes on one embedded store.

Each runs on both embedded engines: Qdrant Edge (the default) and qdrant-client's local mode.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from qdrant_client import models

from assistant.errors import StoreUnavailableError
from assistant.knowledge.qdrant import open_engine
from assistant.knowledge.qdrant.base import Offset
from assistant.settings import Settings, StoreEngineName

ASSISTANT = Path(sys.executable).parent / "assistant"
# Enough documents for three windows of embedded chunks (assistant.ingestion.ingest.EMBED_WINDOW).
DOCS = 320


@pytest.fixture(params=["edge", "local"])
def engine(request: pytest.FixtureRequest) -> StoreEngineName:
    return request.param  # type: ignore[no-any-return]


def user_env(root: Path, engine: StoreEngineName) -> dict[str, str]:
    return os.environ | {
        "ASSISTANT_DATA_DIR": str(root / "data"),
        "ASSISTANT_QDRANT_PATH": str(root / "qdrant"),
        "ASSISTANT_STORE_ENGINE": engine,
        "ASSISTANT_TORCH_THREADS": "1",
    }


def user_settings(root: Path, engine: StoreEngineName) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=root / "data",
        qdrant_path=root / "qdrant",
        store_engine=engine,
    )


def snapshot(settings: Settings) -> dict[str, tuple[Any, ...]]:
    """Every point of the collection: id -> (payload, dense vector)."""
    store = open_engine(settings)
    try:
        points: list[Any] = []
        offset: Offset = None
        while True:
            page, offset = store.scroll(None, limit=256, offset=offset, vectors=True)
            points += page
            if offset is None:
                break
    finally:
        store.close()
    return {
        str(p.id): (
            sorted(p.payload.items()) if p.payload else [],
            np.asarray(p.vector["dense"]),
        )
        for p in points
    }


# What `assistant ingest` does, printing how many chunks are written after each write.
INGESTER = """
import sys
from pathlib import Path
from assistant.ingestion.ingest import ingest_paths
from assistant.service import open_store
from assistant.settings import Settings
settings = Settings(_env_file=None)
store = open_store(settings)
def written(step):
    if step.stage == "embed":
        print(step.done, flush=True)
ingest_paths([Path(sys.argv[1])], store, tenant=settings.tenant,
             max_chars=settings.chunk_max_chars, on_progress=written)
store.close()
"""


@pytest.fixture(scope="module")
def corpus(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = (shared_data / "support_corpus.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    path.write_text("\n".join(lines[:DOCS]) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_an_ingest_killed_mid_way_and_run_again_ends_equal_to_a_clean_ingest(
    corpus: Path, tmp_path: Path, engine: StoreEngineName
) -> None:
    clean_root, killed_root = tmp_path / "clean", tmp_path / "killed"
    subprocess.run(
        [ASSISTANT, "ingest", corpus],
        env=user_env(clean_root, engine),
        check=True,
        capture_output=True,
    )
    clean = snapshot(user_settings(clean_root, engine))
    assert len(clean) >= DOCS

    # Kill right after the first window of chunks is written, while the next is being embedded
    # (seconds of work), so the kill lands between two writes on any machine's speed.
    child = subprocess.Popen(
        [sys.executable, "-c", INGESTER, str(corpus)],
        env=user_env(killed_root, engine),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    for line in child.stdout:
        if int(line) > 0:
            child.send_signal(signal.SIGKILL)
            break
    child.wait()
    partial = len(snapshot(user_settings(killed_root, engine)))
    assert 0 < partial < len(clean), f"the kill did not land mid-way ({partial} of {len(clean)})"

    rerun = subprocess.run(
        [ASSISTANT, "ingest", corpus],
        env=user_env(killed_root, engine),
        capture_output=True,
        text=True,
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    resumed = snapshot(user_settings(killed_root, engine))
    assert resumed.keys() == clean.keys()
    assert all(resumed[key][0] == clean[key][0] for key in clean)
    # Other batch boundaries move the embeddings in the last float bits, nothing more.
    assert all(np.allclose(resumed[key][1], clean[key][1], atol=1e-5) for key in clean)


HOLDER = """
import sys, time
from qdrant_client import models
from assistant.knowledge.qdrant import open_engine
from assistant.settings import Settings
store = open_engine(Settings(_env_file=None, qdrant_path=sys.argv[1], store_engine=sys.argv[2]))
store.create(2)
sparse = models.SparseVector(indices=[1], values=[1.0])
point_id = "00000000-0000-0000-0000-000000000001"
store.upsert([models.PointStruct(id=point_id, vector={"dense": [1.0, 0.0], "sparse": sparse},
                                 payload={"a": 1})])
print("ready", flush=True)
time.sleep(60)
"""


def test_a_second_process_on_the_same_store_gets_an_error_naming_the_folder_and_harms_nothing(
    settings: Settings, engine: StoreEngineName
) -> None:
    settings.store_engine = engine
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(settings.qdrant_path), engine],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreUnavailableError, match="in use by another process") as refused:
            open_engine(settings)
        assert str(settings.qdrant_path) in str(refused.value)
    finally:
        holder.kill()
        holder.wait()
    store = open_engine(settings)
    try:
        assert [p.payload for p in store.scroll(None, limit=10)[0]] == [{"a": 1}]
    finally:
        store.close()


def test_a_damaged_edge_segment_is_a_clear_error_naming_the_folder_that_changes_no_file(
    settings: Settings,
) -> None:
    subprocess.run(
        [
            sys.executable,
            "-c",
            HOLDER.replace("time.sleep(60)", ""),
            str(settings.qdrant_path),
            "edge",
        ],
        check=True,
        capture_output=True,
    )
    shard = settings.qdrant_path / settings.collection
    [segment] = (shard / "segments").iterdir()
    (segment / "segment.json").write_text("{not json", encoding="utf-8")
    files = {p: p.read_bytes() for p in shard.rglob("*") if p.is_file()}

    with pytest.raises(StoreUnavailableError, match="cannot open the Qdrant Edge index") as failed:
        open_engine(settings)

    assert str(shard) in str(failed.value) and "segment.json" in str(failed.value)
    assert {p: p.read_bytes() for p in shard.rglob("*") if p.is_file()} == files


def test_a_write_to_a_nearly_full_disk_is_refused_naming_the_folder_and_keeps_what_is_stored(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A really full disk kills the process (SIGBUS in Edge's memory maps): the engine must
    # refuse before that, so the disk's free space is what this test fakes.
    subprocess.run(
        [
            sys.executable,
            "-c",
            HOLDER.replace("time.sleep(60)", ""),
            str(settings.qdrant_path),
            "edge",
        ],
        check=True,
        capture_output=True,
    )
    store = open_engine(settings)
    stored = store.scroll(None, limit=10, vectors=True)[0]
    monkeypatch.setattr(
        "assistant.knowledge.qdrant.edge.shutil.disk_usage", lambda _: SimpleNamespace(free=0)
    )
    try:
        with pytest.raises(StoreUnavailableError, match="nearly full") as refused:
            store.upsert(
                [
                    models.PointStruct(id=str(uuid.uuid4()), vector=p.vector, payload=p.payload)
                    for p in stored
                ]
            )
        assert str(settings.qdrant_path) in str(refused.value)
    finally:
        store.close()
    monkeypatch.undo()
    reopened = open_engine(settings)
    try:
        assert [p.payload for p in reopened.scroll(None, limit=10)[0]] == [{"a": 1}]
    finally:
        reopened.close()

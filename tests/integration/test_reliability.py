"""Faults a deployment meets: an ingest killed mid-way, two processes on one local store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import QdrantClient

from assistant.errors import StoreUnavailableError
from assistant.settings import Settings
from assistant.store import open_qdrant

ASSISTANT = Path(sys.executable).parent / "assistant"
DOCS = 120


def user_env(root: Path) -> dict[str, str]:
    return os.environ | {
        "ASSISTANT_DATA_DIR": str(root / "data"),
        "ASSISTANT_QDRANT_PATH": str(root / "qdrant"),
        "ASSISTANT_TORCH_THREADS": "1",
    }


def snapshot(qdrant_path: Path) -> dict[str, tuple[Any, ...]]:
    """Every point of the collection: id -> (payload, dense vector)."""
    client = QdrantClient(path=str(qdrant_path))
    try:
        points, offset = [], None
        while True:
            page, offset = client.scroll(
                "knowledge_base", limit=256, offset=offset, with_vectors=["dense"]
            )
            points += page
            if offset is None:
                break
    finally:
        client.close()
    return {
        str(p.id): (
            sorted(p.payload.items()) if p.payload else [],
            np.asarray(p.vector["dense"]),  # type: ignore[index, union-attr]
        )
        for p in points
    }


def committed_rows(storage: Path) -> int:
    if not storage.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{storage}?mode=ro", uri=True, timeout=0)) as db:
            return int(db.execute("SELECT count(*) FROM points").fetchone()[0])
    except sqlite3.Error:  # the table is not made yet, or a write holds the lock
        return 0


@pytest.fixture(scope="module")
def corpus(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    lines = (shared_data / "support_corpus.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    path.write_text("\n".join(lines[:DOCS]) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_an_ingest_killed_mid_way_and_run_again_ends_equal_to_a_clean_ingest(
    corpus: Path, tmp_path: Path
) -> None:
    clean_root, killed_root = tmp_path / "clean", tmp_path / "killed"
    subprocess.run(
        [ASSISTANT, "ingest", corpus], env=user_env(clean_root), check=True, capture_output=True
    )
    clean = snapshot(clean_root / "qdrant")
    assert len(clean) >= DOCS

    # Kill as soon as the first points are committed: read the store's table directly (read-only;
    # the child holds Qdrant's lock, not SQLite's) since the file also grows before any point lands.
    child = subprocess.Popen(
        [ASSISTANT, "ingest", corpus],
        env=user_env(killed_root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    storage = killed_root / "qdrant" / "collection" / "knowledge_base" / "storage.sqlite"
    while child.poll() is None:
        if committed_rows(storage) > 0:
            child.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    child.wait()
    partial = committed_rows(storage)
    assert 0 < partial < len(clean), f"the kill did not land mid-way ({partial} of {len(clean)})"

    rerun = subprocess.run(
        [ASSISTANT, "ingest", corpus], env=user_env(killed_root), capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    resumed = snapshot(killed_root / "qdrant")
    assert resumed.keys() == clean.keys()
    assert all(resumed[key][0] == clean[key][0] for key in clean)
    # Other batch boundaries move the embeddings in the last float bits, nothing more.
    assert all(np.allclose(resumed[key][1], clean[key][1], atol=1e-5) for key in clean)


def test_a_second_process_on_the_same_local_store_gets_a_clear_error_and_harms_nothing(
    settings: Settings,
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from qdrant_client import QdrantClient, models\n"
            f"c = QdrantClient(path={str(settings.qdrant_path)!r})\n"
            "c.create_collection('kb', vectors_config=models.VectorParams(size=2, "
            "distance=models.Distance.COSINE))\n"
            "c.upsert('kb', [models.PointStruct(id=1, vector=[1.0, 0.0], payload={'a': 1})])\n"
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreUnavailableError, match="in use by another process"):
            open_qdrant(settings)
    finally:
        holder.kill()
        holder.wait()
    client = open_qdrant(settings)
    try:
        assert [p.payload for p in client.scroll("kb")[0]] == [{"a": 1}]
    finally:
        client.close()

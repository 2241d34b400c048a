"""The suite never reaches the services a developer exported for their own use."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Tests that open the store, the settings and the CLI the way the rest of the suite does.
PROBES = [
    "tests/unit/test_settings.py",
    "tests/integration/test_store.py::test_a_passage_is_found_by_its_own_words",
    "tests/integration/test_cli.py::test_an_invalid_setting_is_one_clear_line",
]


@contextmanager
def connection_recorder() -> Iterator[tuple[int, list[str]]]:
    """A loopback TCP listener that records every connection made to it."""
    seen: list[str] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except TimeoutError:
                continue
            seen.append(f"{peer[0]}:{peer[1]}")
            conn.close()

    worker = threading.Thread(target=accept, daemon=True)
    worker.start()
    try:
        yield server.getsockname()[1], seen
    finally:
        stop.set()
        worker.join()
        server.close()


@pytest.mark.slow
def test_exported_service_variables_reach_no_test(tmp_path: Path) -> None:
    hostile_dir = tmp_path / "the-users-real-data"
    with connection_recorder() as (port, connections):
        url = f"http://127.0.0.1:{port}"
        hostile = {
            "QDRANT_URL": url,
            "QDRANT_API_KEY": "users-real-key",
            "ASSISTANT_QDRANT_URL": url,
            "ASSISTANT_BACKEND": "openai",
            "ASSISTANT_BASE_URL": f"{url}/v1",
            "ASSISTANT_THREADS_URL": f"postgresql://user:pass@127.0.0.1:{port}/threads",
            "ASSISTANT_SLACK_API_URL": f"{url}/api/",
            "SLACK_BOT_TOKEN": "xoxb-users-real-token",
            "ASSISTANT_DATA_DIR": str(hostile_dir / "data"),
            "ASSISTANT_QDRANT_PATH": str(hostile_dir / "qdrant"),
            "ASSISTANT_STORE_ENGINE": "local",
            "ASSISTANT_COLLECTION": "users_real_collection",
        }
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *PROBES],
            cwd=REPO,
            env=os.environ | hostile,
            capture_output=True,
            text=True,
            timeout=900,
        )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert connections == []
    assert not hostile_dir.exists()

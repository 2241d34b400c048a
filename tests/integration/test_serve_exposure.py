"""`assistant serve` and `assistant mcp --transport http` as an operator starts them: closed by
default. Without API keys they listen on a loopback address only, unless ASSISTANT_SERVE_OPEN
says an open server is meant; the example files' placeholder key is never accepted."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import assistant
from assistant.interfaces.api.exposure import PLACEHOLDER_KEY
from assistant.llm.vllm_launcher import free_port

ASSISTANT = Path(sys.executable).parent / "assistant"
COMMANDS = {"serve": ["serve"], "mcp": ["mcp", "--transport", "http"]}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A user's environment without keys; the model server is never called at start."""
    given = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    # The code under test, wherever it is imported from (a relative PYTHONPATH would not
    # survive the change of folder).
    source = str(Path(assistant.__file__).resolve().parents[1])
    return given | {
        "PYTHONPATH": os.pathsep.join([source, *filter(None, [given.get("PYTHONPATH")])]),
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_CACHE_DIR": str(tmp_path / "cache"),
        "ASSISTANT_TORCH_THREADS": "1",
        "ASSISTANT_BACKEND": "openai",
        "ASSISTANT_BASE_URL": "http://127.0.0.1:9/v1",
    }


def run(
    command: str, host: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    # The old code served here until killed: the timeout fails that test instead of hanging.
    args = [str(ASSISTANT), *COMMANDS[command], "--host", host, "--port", str(free_port())]
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=90)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_a_public_address_without_keys_is_refused_naming_the_settings(
    command: str, host: str, env: dict[str, str], tmp_path: Path
) -> None:
    done = run(command, host, env, tmp_path)
    said = " ".join(done.stderr.split())  # one line, however the terminal wrapped it
    assert done.returncode == 1, said
    assert f"refusing to listen on {host}" in said
    assert "ASSISTANT_SERVE_API_KEYS" in said and "ASSISTANT_SERVE_OPEN=true" in said
    assert not (tmp_path / "data").exists()  # refused before anything was opened


@pytest.mark.parametrize("command", COMMANDS)
def test_the_example_files_placeholder_key_is_refused_even_on_loopback(
    command: str, env: dict[str, str], tmp_path: Path
) -> None:
    env["ASSISTANT_SERVE_API_KEYS"] = f'{{"{PLACEHOLDER_KEY}": "default"}}'
    done = run(command, "127.0.0.1", env, tmp_path)
    said = " ".join(done.stderr.split())
    assert done.returncode == 1, said
    assert "placeholder key" in said and "ASSISTANT_SERVE_API_KEYS" in said


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_with_the_opt_in_an_open_server_starts_on_a_public_address_and_says_so(
    command: str, env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    args = [str(ASSISTANT), *COMMANDS[command], "--host", "0.0.0.0", "--port", str(port)]
    env["ASSISTANT_SERVE_OPEN"] = "true"
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=out, stderr=out)
    try:
        path = "/healthz" if command == "serve" else "/mcp"
        answered = None
        deadline = time.monotonic() + 180
        while answered is None and time.monotonic() < deadline and server.poll() is None:
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
            except httpx.TransportError:
                time.sleep(0.5)
        assert answered is not None, log.read_text()
        assert answered.status_code < 500
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "the API is open" in log.read_text()

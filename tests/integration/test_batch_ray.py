"""`assistant triage-batch --ray` on a real Ray cluster: a head node started on loopback by
this module (`ray start --head`) and stopped after it, the classifier engine fitted here on
BANKING77 with the real embedder. The Ray path must give the labels the single-process path
gives, survive a SIGKILL of its driver mid-run (the rerun skips the blocks written and loses
no ticket), and refuse an address where no cluster listens at once.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from assistant.interfaces.batch.blocks import parts_folder_for
from assistant.interfaces.cli.batch_commands import triage_batch_command
from assistant.knowledge.embedder import load_embedder
from assistant.llm.vllm_launcher import free_port
from assistant.policy import shipped_policy
from assistant.settings import Settings
from assistant.triage.classifier import TriageClassifier
from assistant.triage.examples import is_dev, read_banking77

pytestmark = pytest.mark.slow

RAY = Path(sys.executable).parent / "ray"
CLUSTER_START_S = 120


def cli_app() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    app.command("triage-batch")(triage_batch_command)
    app.command("noop")(lambda: None)  # two commands, so typer keeps the subcommand name
    return app


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A one-node Ray cluster on loopback (2 CPUs, no dashboard), in its own process group so
    that stopping it stops its workers too, and nothing else's."""
    port = free_port()
    # Ray's socket paths live under the temp dir and must stay short (the AF_UNIX limit).
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")
    head = subprocess.Popen(
        [str(RAY), "start", "--head", "--block", f"--port={port}", "--node-ip-address=127.0.0.1",
         "--num-cpus=2", "--include-dashboard=false", f"--temp-dir={temp}",
         "--disable-usage-stats"],
        # Ray 2.60's head turns token authentication on by default; on loopback, for a test,
        # the cluster and its clients (this process's children inherit it) go without.
        env={**os.environ, "RAY_AUTH_MODE": "disabled"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + CLUSTER_START_S
    while subprocess.run(
        [str(RAY), "status", f"--address={address}"], capture_output=True, check=False
    ).returncode:
        if head.poll() is not None or time.monotonic() > deadline:
            os.killpg(head.pid, signal.SIGKILL)
            pytest.fail(f"ray start --head did not come up: {head.stderr.read().decode()}")
        time.sleep(1)
    try:
        yield address
    finally:
        # `ray start --block` does not pass a SIGTERM on to the processes it started; the
        # group is this cluster's alone (the head's session), so it is killed whole.
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def classifier_env(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The classifier engine's settings, over a classifier fitted on one BANKING77 row in 50
    (a few seconds of embedding; its accuracy does not matter here, only that both paths
    read with it)."""
    folder = tmp_path_factory.mktemp("classifier")
    embedder = load_embedder(Settings(_env_file=None).embedder)  # type: ignore[call-arg]
    rows = read_banking77(shared_data / "banking77_train.jsonl")[::50]
    TriageClassifier.fit(rows, shipped_policy(), embedder, data_name="banking77").save(folder)
    return {
        "ASSISTANT_TRIAGE_ENGINE": "classifier",
        "ASSISTANT_TRIAGE_CLASSIFIER_DIR": str(folder),
        "ASSISTANT_DATA_DIR": str(folder / "data"),
        "ASSISTANT_QDRANT_PATH": str(folder / "qdrant"),
        "COLUMNS": "200",
    }


def write_tickets(shared_data: Path, path: Path, n: int) -> Path:
    """``n`` dev-side BANKING77 texts as tickets ``t0``..., and one line that is not JSON."""
    rows = read_banking77(shared_data / "banking77_train.jsonl")
    dev = [row for row in rows if is_dev(row.text)][:n]
    lines = [json.dumps({"id": f"t{i}", "body": row.text}) for i, row in enumerate(dev)]
    path.write_text("\n".join([*lines[:5], "{not json", *lines[5:]]) + "\n", encoding="utf-8")
    return path


def records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def invoke(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli_app(), ["triage-batch", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_ray_workers_give_every_ticket_the_single_process_paths_record(
    ray_address: str, classifier_env: dict[str, str], shared_data: Path, tmp_path: Path
) -> None:
    source = write_tickets(shared_data, tmp_path / "tickets.jsonl", 60)
    invoke(classifier_env, str(source), "-o", str(tmp_path / "single.jsonl"))
    invoke(
        classifier_env, str(source), "-o", str(tmp_path / "ray.jsonl"),
        "--ray", "--ray-address", ray_address, "--ray-workers", "2", "--block-rows", "16",
    )  # fmt: skip

    single, on_ray = records(tmp_path / "single.jsonl"), records(tmp_path / "ray.jsonl")
    assert len(on_ray) == 61
    assert sorted(on_ray, key=lambda r: r["line"]) == sorted(single, key=lambda r: r["line"])
    assert [r["line"] for r in on_ray] == sorted(r["line"] for r in on_ray)  # input order
    (bad,) = [r for r in on_ray if r.get("error")]
    assert bad["line"] == 6 and str(bad["error"]).startswith("invalid JSON")
    parts = sorted(p.name for p in parts_folder_for(tmp_path / "ray.jsonl").glob("part-*"))
    assert parts == [
        "part-000000000-000000016.jsonl",
        "part-000000016-000000032.jsonl",
        "part-000000032-000000048.jsonl",
        "part-000000048-000000061.jsonl",
    ]


def test_a_ray_run_killed_mid_way_resumes_and_holds_every_ticket_exactly_once(
    ray_address: str, classifier_env: dict[str, str], shared_data: Path, tmp_path: Path
) -> None:
    source = write_tickets(shared_data, tmp_path / "tickets.jsonl", 400)
    output = tmp_path / "out.jsonl"
    parts = parts_folder_for(output)
    command = [
        str(Path(sys.executable).parent / "assistant"), "triage-batch", str(source),
        "-o", str(output), "--ray", "--ray-address", ray_address, "--block-rows", "8",
    ]  # fmt: skip
    driver = subprocess.Popen(
        command,
        env={**os.environ, **classifier_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while not list(parts.glob("part-*")):
        assert driver.poll() is None, "the driver ended before writing its first block"
        assert time.monotonic() < deadline, "no block written in 3 minutes"
        time.sleep(0.02)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    written_before = {p.name: p.stat().st_mtime_ns for p in parts.glob("part-*")}
    assert not output.exists(), "the run finished before the kill: nothing was tested"
    assert 0 < len(written_before) < 51

    summary = invoke(
        classifier_env, str(source), "-o", str(output), "--ray", "--ray-address", ray_address,
        "--block-rows", "8",
    )  # fmt: skip

    found = records(output)
    assert len(found) == 401
    ids = [r["id"] for r in found if "id" in r]
    assert sorted(ids) == sorted(f"t{i}" for i in range(400))  # each once, none lost
    assert sum(1 for r in found if r.get("error")) == 1  # the line that is not JSON
    # The blocks written before the kill were kept, not redone.
    assert {name: (parts / name).stat().st_mtime_ns for name in written_before} == written_before
    assert len(list(parts.glob("part-*"))) == 51
    assert f"{len(written_before) * 8}" in summary  # resumed: their records


def test_an_address_where_no_cluster_listens_fails_at_once_with_a_clear_error(
    classifier_env: dict[str, str], shared_data: Path, tmp_path: Path
) -> None:
    source = write_tickets(shared_data, tmp_path / "tickets.jsonl", 3)
    nobody = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = CliRunner().invoke(
        cli_app(),
        ["triage-batch", str(source), "-o", str(tmp_path / "out.jsonl"),
         "--ray", "--ray-address", nobody],
        env=classifier_env,
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"cannot reach the Ray cluster at {nobody}" in result.output
    assert time.monotonic() - started < 15
    assert not (tmp_path / "out.jsonl").exists()

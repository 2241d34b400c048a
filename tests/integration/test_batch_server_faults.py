"""Batch triage against a model server that fails: 500s, a stalled request, a server that is
down. Retries are bounded, each affected ticket gets a clear error, and a rerun with
`--retry-errors` completes the output without duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_fakes import read_jsonl, tickets, write_jsonl
from fake_openai import FakeServer, Reply, running
from typer.testing import CliRunner

from assistant.interfaces.cli.main import app
from assistant.llm.vllm_launcher import free_port
from assistant.triage.examples import triage_result
from assistant.triage.prompts import render_triage

RETRIES = 2  # ASSISTANT_MAX_RETRIES: three attempts in all


def env(tmp_path: Path, base_url: str) -> dict[str, str]:
    return {
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_BACKEND": "openai",
        "ASSISTANT_BASE_URL": base_url,
        # The server's faults are met by the adapter engine; `auto` reads a team's messages
        # zero-shot in process unless an adapter trained on its policy is served.
        "ASSISTANT_TRIAGE_ENGINE": "adapter",
        "ASSISTANT_MAX_RETRIES": str(RETRIES),
        "ASSISTANT_REQUEST_TIMEOUT_S": "1",
        "COLUMNS": "200",
    }


def run(environment: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["triage-batch", *args], env=environment)
    return result.exit_code, result.output


@pytest.fixture
def rows(shared_data: Path) -> list[dict[str, str]]:
    return tickets(shared_data, 10)


class Faults:
    """Ticket 0 fails twice then answers; ticket 1 always fails; ticket 2 stalls."""

    def __init__(self, rows: list[dict[str, str]]) -> None:
        self.labels = {row["body"]: row["label"] for row in rows}
        self.flaky, self.broken, self.stalled = (rows[i]["body"] for i in range(3))
        self.healed = False
        self.server = FakeServer(self.decide)

    def decide(self, prompt: str) -> Reply:
        answer = Reply(render_triage(triage_result(self.labels[prompt])))
        if self.healed:
            return answer
        if prompt == self.flaky and self.server.calls[prompt] <= 2:
            return Reply(status=500)
        if prompt == self.broken:
            return Reply(status=500)
        if prompt == self.stalled:
            return Reply(delay_s=5)
        return answer


def by_id(records: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    return {str(record["id"]): record for record in records}


def test_failing_requests_are_retried_a_bounded_number_of_times_then_recorded_and_redone(
    tmp_path: Path, rows: list[dict[str, str]]
) -> None:
    source = write_jsonl(tmp_path / "tickets.jsonl", rows)
    out = tmp_path / "out.jsonl"
    faults = Faults(rows)
    with running(faults.server) as server:
        code, output = run(env(tmp_path, server.url), str(source), "-o", str(out))
        assert code == 0, output
        first = by_id(read_jsonl(out))
        assert len(first) == len(rows)
        # The flaky ticket succeeded on its third attempt; the broken one had exactly three.
        assert server.calls[faults.flaky] == 3 and first["T001"]["category"] == rows[0]["label"]
        assert server.calls[faults.broken] == RETRIES + 1
        assert "failed (500" in str(first["T002"]["error"])
        assert "Cannot reach the model server" in str(first["T003"]["error"])
        assert all("error" not in first[f"T{i:03d}"] for i in range(4, 11))

        faults.healed = True
        code, output = run(env(tmp_path, server.url), str(source), "-o", str(out))
        assert code == 0 and read_jsonl(out) == list(first.values())  # plain rerun: all done

        code, output = run(env(tmp_path, server.url), str(source), "-o", str(out), "--retry-errors")
        assert code == 0, output
    final = read_jsonl(out)
    assert len(final) == len(rows) and all("error" not in record for record in final)
    expected = {row["id"]: triage_result(row["label"]).category for row in rows}
    assert {str(r["id"]): r["category"] for r in final} == expected


def test_a_server_that_is_down_fails_each_ticket_clearly_and_a_later_run_completes(
    tmp_path: Path, rows: list[dict[str, str]]
) -> None:
    source = write_jsonl(tmp_path / "tickets.jsonl", rows)
    out = tmp_path / "out.jsonl"
    down = f"http://127.0.0.1:{free_port()}/v1"
    code, output = run(env(tmp_path, down), str(source), "-o", str(out))
    assert code == 0, output
    errors = [record["error"] for record in read_jsonl(out)]
    assert len(errors) == len(rows)
    assert all("Cannot reach the model server" in str(error) for error in errors)

    faults = Faults(rows)
    faults.healed = True
    with running(faults.server) as server:
        code, output = run(env(tmp_path, server.url), str(source), "-o", str(out), "--retry-errors")
    assert code == 0, output
    final = read_jsonl(out)
    assert len(final) == len(rows) and all("error" not in record for record in final)

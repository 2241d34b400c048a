"""A second taxonomy end to end: a small policy over CLINC150 domains (out-of-scope rows
included), the classifier fitted and an adapter trained a few steps on those rows, then
`assistant triage` and `triage-batch` answer with that policy's labels only.

About two minutes on 2 cores: ~400 rows embedded once per fit, 2 adapter steps.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.interfaces.cli.main import app

pytestmark = pytest.mark.slow

DOMAINS = ("banking", "travel", "small_talk")
POLICY = """\
name: clinc-three
description: Three CLINC150 domains; everything else is out of scope.
categories:
  banking: {priority: high, needs_human: true, reason: account_action}
  travel: {priority: normal, needs_human: false}
  small_talk: {priority: low, needs_human: false}
  out_of_scope: {priority: low, needs_human: false}
"""


@pytest.fixture(scope="module")
def team(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A team folder: policy.yaml, and tickets.jsonl (CLINC rows: one in 12 of each domain,
    every intent of it, and one in 2 out-of-scope rows)."""
    folder = tmp_path_factory.mktemp("team")
    (folder / "policy.yaml").write_text(POLICY, encoding="utf-8")
    seen: dict[str, int] = {}
    lines = []
    for line in (shared_data / "clinc150_train.jsonl").read_text(encoding="utf-8").splitlines():
        domain = json.loads(line)["domain"]
        seen[domain] = seen.get(domain, 0) + 1
        every = {"oos": 2}.get(domain, 12)
        if domain in (*DOMAINS, "oos") and seen[domain] % every == 0:
            lines.append(line)
    (folder / "tickets.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def invoke(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def env_for(team: Path, **changes: str) -> dict[str, str]:
    return {
        "ASSISTANT_DATA_DIR": str(team / "data"),
        "ASSISTANT_QDRANT_PATH": str(team / "qdrant"),
        "ASSISTANT_TORCH_THREADS": "2",
        "ASSISTANT_TRIAGE_ENGINE": "adapter",
        "ASSISTANT_TRIAGE_POLICY": str(team / "policy.yaml"),
        **changes,
    }


DATA = ("--text-field", "text", "--label-field", "domain", "--label-map", "oos=out_of_scope")


def test_the_classifier_triages_with_the_teams_own_categories(team: Path) -> None:
    out = team / "classifier"
    env = env_for(team)
    printed = invoke(
        env, "adapters", "fit-classifier", "--data", str(team / "tickets.jsonl"), *DATA,
        "--out", str(out),
    )  # fmt: skip
    assert "4 categories of 'clinc-three'" in printed
    manifest = json.loads((out / "classifier.json").read_text(encoding="utf-8"))
    assert manifest["labels"] == ["banking", "out_of_scope", "small_talk", "travel"]
    assert manifest["dev"]["accuracy"] > 0.6

    env |= {"ASSISTANT_TRIAGE_ENGINE": "classifier", "ASSISTANT_TRIAGE_CLASSIFIER_DIR": str(out)}
    flight = json.loads(invoke(env, "triage", "--json", "book me a flight to paris next monday"))
    assert flight == {"category": "travel", "priority": "normal", "needs_human": False}

    tickets = team / "batch.csv"
    tickets.write_text(
        "id,body\n1,what is my checking account balance\n2,tell me a joke\n"
        "3,how many calories are in an apple\n",
        encoding="utf-8",
    )
    invoke(env, "triage-batch", str(tickets), "-o", str(team / "out.jsonl"))
    records = [json.loads(line) for line in (team / "out.jsonl").read_text().splitlines()]
    assert {r["category"] for r in records} <= {"banking", "travel", "small_talk", "out_of_scope"}
    assert next(r for r in records if r["id"] == "1")["needs_human"] is True


def test_an_unsure_classifier_reading_goes_to_a_human(team: Path) -> None:
    out = team / "classifier"
    if not out.exists():
        pytest.skip("needs the classifier of the test above")
    env = env_for(
        team,
        ASSISTANT_TRIAGE_ENGINE="classifier",
        ASSISTANT_TRIAGE_CLASSIFIER_DIR=str(out),
        ASSISTANT_TRIAGE_MIN_CONFIDENCE="1.0",
    )
    reading = json.loads(invoke(env, "triage", "--json", "tell me a joke"))
    assert reading["needs_human"] is True


def test_a_few_adapter_steps_answer_with_the_policys_labels_only(team: Path) -> None:
    adapters = team / "adapters"
    env = env_for(team, ASSISTANT_ADAPTERS_DIR=str(adapters))
    # Every category, but a quarter of the rows: tokenizing is paid for every example.
    lines = (team / "tickets.jsonl").read_text(encoding="utf-8").splitlines()
    few = team / "few.jsonl"
    few.write_text("\n".join(lines[::4]) + "\n", encoding="utf-8")
    invoke(
        env, "adapters", "train", "triage-clinc", "--from", str(few), *DATA,
        "--steps", "2", "--batch-size", "2", "--threads", "2", "--device", "cpu",
        "--out", str(adapters / "triage-clinc"), "--checkpoint-dir", str(team / "ckpt"),
    )  # fmt: skip
    env["ASSISTANT_TRIAGE_ADAPTER"] = "triage-clinc"
    reading = json.loads(invoke(env, "triage", "--json", "how much money is in my savings"))
    assert reading["category"] in {"banking", "travel", "small_talk", "out_of_scope"}

    manifest = json.loads((adapters / "triage-clinc" / "manifest.json").read_text())
    assert manifest["policy"]["name"] == "clinc-three"
    # Under the shipped BANKING77 policy the same adapter would be forced into banking intents.
    shipped_policy: dict[str, str | None] = {**env, "ASSISTANT_TRIAGE_POLICY": None}
    refused = CliRunner().invoke(app, ["triage", "how are you"], env=shipped_policy)
    assert refused.exit_code != 0
    said = " ".join(refused.output.split())
    assert "fitted under the policy 'clinc-three'" in said
    assert "the settings use 'banking77'" in said


def test_a_label_the_policy_lacks_is_named_with_its_line(team: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["adapters", "data", "triage", "--from", str(team / "tickets.jsonl"),
         "--text-field", "text", "--label-field", "domain", "--out", str(team / "data-out")],
        env=env_for(team),
    )  # fmt: skip
    assert result.exit_code != 0
    said = " ".join(result.output.split())  # the console wraps long lines
    assert re.search(r"tickets\.jsonl:\d+: label 'oos' is not a category of the policy", said)
    assert "--label-map oos=CATEGORY" in said

"""`assistant adapters fit-judge --from-log` on a team's own help center: the turns its
customers rated and its reviewer labelled refit the shipped judge, and the refitted judge
decides what it was taught."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpcenter import write_helpcenter
from typer.testing import CliRunner

from assistant.ingestion.ingest import ingest_paths
from assistant.interfaces.cli.main import app
from assistant.schemas import Outcome
from assistant.service import Assistant
from assistant.settings import Settings

pytestmark = pytest.mark.slow

# On-topic questions the Cloudnest pages never answer: the shipped judge hedges at least one.
NOT_COVERED = [
    "Does Cloudnest work with Apple HomeKit?",
    "Can I control Cloudnest with Alexa?",
    "Does Cloudnest integrate with Google Home?",
    "Can I print a photo book from Cloudnest?",
]
COVERED = "Which plan gives me 2 TB of storage?"


def settings_env(settings: Settings) -> dict[str, str]:
    return {
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
        "ASSISTANT_QDRANT_PATH": str(settings.qdrant_path),
        "ASSISTANT_TORCH_THREADS": "1",
    }


def test_fit_judge_from_log_learns_the_decisions_a_reviewer_taught(
    settings: Settings, tmp_path: Path
) -> None:
    with Assistant.open(settings) as assistant:
        ingest_paths(
            [write_helpcenter(tmp_path / "helpcenter")],
            assistant.store,
            tenant=settings.tenant,
            max_chars=settings.chunk_max_chars,
        )
        before = {q: assistant.ask(q, thread_id=f"t{n}") for n, q in enumerate(NOT_COVERED)}
        covered = assistant.ask(COVERED, thread_id="covered")
        assistant.rate("covered", "up")
    assert covered.outcome in {Outcome.ANSWERED, Outcome.HEDGED}
    taught = [q for q, answer in before.items() if answer.outcome is not Outcome.DECLINED]
    assert taught, "the shipped judge already declines every uncovered question"

    # The reviewer's file: each uncovered turn labelled `answerable: false`, as in the
    # hard-cases file a reviewer fills in (the log rows with the reviewer's field).
    log = settings.interaction_log_path
    reviewed = tmp_path / "reviewed.jsonl"
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        if row.get("kind") == "turn" and row["question"] in NOT_COVERED:
            row["answerable"] = False
    reviewed.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    out = tmp_path / "judge"
    result = CliRunner().invoke(
        app,
        ["adapters", "fit-judge", "--from-log", str(reviewed), "--out", str(out)],
        env=settings_env(settings),
    )
    assert result.exit_code == 0, result.output
    assert "1 turn(s) labelled answered, 4 not answered" in result.output
    assert {p.name for p in out.iterdir()} >= {"turn", "chunk", "clarify"}
    assert json.loads((out / "turn" / "head.json").read_text())["trained_on"][-1] == (
        "reviewed.jsonl"
    )

    refitted = settings.model_copy(update={"judge_dir": out})
    with Assistant.open(refitted) as assistant:
        after = {q: assistant.ask(q) for q in taught}
        still = assistant.ask(COVERED)
    assert all(answer.outcome is Outcome.DECLINED for answer in after.values()), {
        q: a.outcome for q, a in after.items()
    }
    assert still.outcome in {Outcome.ANSWERED, Outcome.HEDGED}
    assert {c.doc_id for c in still.citations} == {"plans.md"}


def test_fit_judge_from_a_log_without_labels_says_there_is_nothing_to_learn(
    settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text(
        json.dumps({"kind": "turn", "question": "q", "thread_id": "a", "turn": 0}) + "\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app,
        ["adapters", "fit-judge", "--from-log", str(log), "--out", str(tmp_path / "j")],
        env=settings_env(settings),
    )
    assert result.exit_code != 0
    assert "no labelled turn" in result.output
    assert not (tmp_path / "j").exists()

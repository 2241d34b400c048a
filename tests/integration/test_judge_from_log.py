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

# A reviewer's day on the Cloudnest help center: ten questions its pages answer, ten on-topic
# ones they never answer (the shipped judge hedges or answers most of these).
COVERED = [
    "Which plan gives me 2 TB of storage?",
    "How do I back up over mobile data?",
    "How long do deleted photos stay in Recently deleted?",
    "How much does the Plus plan cost?",
    "How many family members can share a plan?",
    "How do I revoke a shared album link?",
    "Where do I download the desktop app?",
    "Why are my long videos not backed up?",
    "What does error E204 mean?",
    "When does a plan change take effect?",
]
NOT_COVERED = [
    "Does Cloudnest work with Apple HomeKit?",
    "Can I control Cloudnest with Alexa?",
    "Does Cloudnest integrate with Google Home?",
    "Can I print a photo book from Cloudnest?",
    "Can I pay for Cloudnest with PayPal?",
    "Is there a student discount on Cloudnest plans?",
    "Can Cloudnest back up my WhatsApp chats?",
    "Is there a Cloudnest app for Linux?",
    "Can I edit my videos inside Cloudnest?",
    "Does Cloudnest offer a lifetime plan?",
]
ANSWERED = {Outcome.ANSWERED, Outcome.HEDGED}


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
        before = {q: assistant.ask(q).outcome for q in COVERED + NOT_COVERED}

    # The reviewer's file: every turn labelled `answerable`, as in the hard-cases file a
    # reviewer fills in (the log rows with the reviewer's field).
    log = settings.interaction_log_path
    reviewed = tmp_path / "reviewed.jsonl"
    rows = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row["answerable"] = row["question"] in COVERED
    reviewed.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    out = tmp_path / "judge"
    result = CliRunner().invoke(
        app,
        [
            *("adapters", "fit-judge", "--from-log", str(reviewed), "--out", str(out)),
            *("--log-weight", "5"),
        ],
        env=settings_env(settings),
    )
    assert result.exit_code == 0, result.output
    assert "10 turn(s) labelled answered, 10 not answered" in result.output
    assert {p.name for p in out.iterdir()} == {"turn", "chunk", "clarify"}
    turn = json.loads((out / "turn" / "head.json").read_text())
    assert turn["trained_on"][-1] == "reviewed.jsonl"
    # Ten of each label: the thresholds were set on the team's own turns.
    assert turn["held_out"]["examples"] == 20

    with Assistant.open(settings.model_copy(update={"judge_dir": out})) as assistant:
        after = {q: assistant.ask(q).outcome for q in COVERED + NOT_COVERED}

    def declined(outcomes: dict[str, Outcome]) -> int:
        return sum(outcomes[q] is Outcome.DECLINED for q in NOT_COVERED)

    def answered(outcomes: dict[str, Outcome]) -> int:
        return sum(outcomes[q] in ANSWERED for q in COVERED)

    assert declined(after) > declined(before), (before, after)
    assert answered(after) >= answered(before), (before, after)


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

"""`assistant adapters promote router`: the shipped router head against candidates, scored with
the real embedder on held-back rows (CLINC150's validation small talk, requests for a person,
the support tasks), the live folder replaced only when the candidate is not worse."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.errors import InputError
from assistant.interfaces.cli.main import app
from assistant.knowledge.embedder import Embedder
from assistant.settings import SHIPPED_ADAPTERS_DIR
from assistant.training.hard_cases import RoutedText, read_routed
from assistant.training.promotion import DECISION_FILE, PREVIOUS_DIR, promote_head
from assistant.triage.examples import HUMAN_REQUEST_PHRASES
from assistant.turn.heads import HEAD_FILE, LinearHead

AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


@pytest.fixture
def heads_dir(tmp_path: Path) -> Path:
    heads = tmp_path / "adapters"
    shutil.copytree(SHIPPED_ADAPTERS_DIR / "router", heads / "router")
    return heads


@pytest.fixture
def held_back(shared_data: Path, tmp_path: Path) -> Path:
    """A reviewed labelling file: validation small talk (reply), requests for a person (human)
    and support questions (search), none of them in the router's training rows."""
    rows = []
    for line in (shared_data / "clinc150_train.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["domain"] == "small_talk" and row["split"] == "val":
            rows.append({"question": row["text"], "route": "reply"})
    rows = rows[::10]
    rows += [{"question": text, "route": "human"} for text in HUMAN_REQUEST_PHRASES]
    for line in (
        (shared_data / "support_qa_dev.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    ):
        rows.append({"question": json.loads(line)["question"], "route": "search"})
    path = tmp_path / "reviewed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def candidate_from(heads_dir: Path, tmp_path: Path, *, degrade: bool) -> Path:
    """A copy of the live head; degraded, its search and reply rows swapped."""
    head = LinearHead.model_validate_json((heads_dir / "router" / HEAD_FILE).read_text())
    if degrade:
        weights, intercept = list(head.weights), list(head.intercept)
        s, r = head.labels.index("search"), head.labels.index("reply")
        weights[s], weights[r] = weights[r], weights[s]
        intercept[s], intercept[r] = intercept[r], intercept[s]
        head = head.model_copy(update={"weights": weights, "intercept": intercept})
    folder = tmp_path / ("degraded" if degrade else "refit")
    head.save(folder)
    return folder


def rows_of(path: Path) -> list[RoutedText]:
    return read_routed(path)


def test_a_degraded_head_is_refused_and_the_live_one_stays(
    heads_dir: Path, held_back: Path, tmp_path: Path, embedder: Embedder
) -> None:
    live_before = (heads_dir / "router" / HEAD_FILE).read_bytes()
    candidate = candidate_from(heads_dir, tmp_path, degrade=True)
    decision = promote_head(
        "router", candidate, heads_dir, rows_of(held_back), embedder, data=["r"], at=AT
    )
    assert decision.current_score is not None
    assert decision.current_score.balanced_recall > 0.8  # the shipped head on held-back rows
    assert decision.candidate_score.balanced_recall < decision.current_score.balanced_recall - 0.1
    assert (decision.not_worse, decision.promoted) == (False, False)
    assert (heads_dir / "router" / HEAD_FILE).read_bytes() == live_before
    assert not (heads_dir / PREVIOUS_DIR).exists()
    recorded = json.loads((candidate / DECISION_FILE).read_text())
    assert (recorded["promoted"], recorded["not_worse"]) == (False, False)


def test_a_head_that_is_not_worse_replaces_the_live_one_which_is_kept_for_rollback(
    heads_dir: Path, held_back: Path, tmp_path: Path, embedder: Embedder
) -> None:
    live_before = (heads_dir / "router" / HEAD_FILE).read_bytes()
    candidate = candidate_from(heads_dir, tmp_path, degrade=False)
    decision = promote_head(
        "router", candidate, heads_dir, rows_of(held_back), embedder, data=["r"], at=AT
    )
    assert (decision.not_worse, decision.promoted, decision.forced) == (True, True, False)
    assert (heads_dir / "router" / HEAD_FILE).read_bytes() == (candidate / HEAD_FILE).read_bytes()
    kept = heads_dir / PREVIOUS_DIR / "router" / "20261207T100000000000Z"
    assert decision.previous_kept_at == str(kept)
    assert (kept / HEAD_FILE).read_bytes() == live_before
    recorded = json.loads((heads_dir / "router" / DECISION_FILE).read_text())
    assert recorded["promoted"] and recorded["previous_kept_at"] == str(kept)


def test_force_promotes_a_worse_head_only_with_a_reason_it_records(
    heads_dir: Path, held_back: Path, tmp_path: Path, embedder: Embedder
) -> None:
    candidate = candidate_from(heads_dir, tmp_path, degrade=True)
    rows = rows_of(held_back)
    with pytest.raises(InputError, match="--reason"):
        promote_head("router", candidate, heads_dir, rows, embedder, data=[], at=AT, force=True)
    decision = promote_head(
        "router",
        candidate,
        heads_dir,
        rows,
        embedder,
        data=[],
        at=AT,
        force=True,
        reason="legal asked for fewer small-talk replies",
    )
    assert (decision.not_worse, decision.promoted, decision.forced) == (False, True, True)
    recorded = json.loads((heads_dir / "router" / DECISION_FILE).read_text())
    assert recorded["forced"] and recorded["reason"] == "legal asked for fewer small-talk replies"


def test_the_promote_command_prints_both_scores_and_exits_1_when_it_refuses(
    heads_dir: Path, held_back: Path, tmp_path: Path, shared_data: Path
) -> None:
    candidate = candidate_from(heads_dir, tmp_path, degrade=True)
    env = {"ASSISTANT_ADAPTERS_DIR": str(heads_dir), "COLUMNS": "160"}
    args = ["adapters", "promote", "router", "--candidate", str(candidate)]
    args += ["--data", str(held_back), "--tasks", str(shared_data / "support_qa_dev.jsonl")]
    args += ["--fold", "1/5"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 1, result.output
    assert "balanced recall" in result.output and "recall reply" in result.output
    assert "refused" in result.output

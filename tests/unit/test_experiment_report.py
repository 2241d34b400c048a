"""`assistant report` on logs with known rates: intervals, tests and the turns still needed."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.evaluation.experiment_report import experiment_report
from assistant.evaluation.proportions import turns_per_arm, two_proportion_test, wilson
from assistant.interaction_log import InteractionRecord, JsonlLog, read_log
from assistant.interfaces.cli.main import app
from assistant.schemas import Action, Outcome

START = datetime(2026, 12, 1, tzinfo=UTC)

# True rates per arm: thumbs up, thumbs down (of all turns), and the turn's outcome.
ARMS = {
    "control": {"up": 0.30, "down": 0.10, "escalated": 0.10, "declined": 0.05, "clarify": 0.05},
    "treatment": {"up": 0.20, "down": 0.15, "escalated": 0.04, "declined": 0.12, "clarify": 0.05},
}
FLAGGED = {"control": 0.08, "treatment": 0.02}
MEDIAN_MS = {"control": 400.0, "treatment": 900.0}


def shuffled(n: int, shares: dict[str, float], rest: str, rng: random.Random) -> list[str]:
    """n labels, exactly round(share * n) of each (the `rest` fill up), in random order."""
    labels = [name for name, share in shares.items() for _ in range(round(share * n))]
    labels += [rest] * (n - len(labels))
    rng.shuffle(labels)
    return labels


def synthetic_log(path: Path, turns_per_arm: int, seed: int = 7) -> None:
    """Turns with exactly the `ARMS` rates in random order (and lognormal latencies), rated
    as drawn: the report must count what the log holds, whatever the order."""
    rng = random.Random(seed)
    log = JsonlLog(path)
    n = turns_per_arm
    for variant, rates in ARMS.items():
        outcomes = shuffled(
            n, {k: rates[k] for k in ("escalated", "declined", "clarify")}, "answered", rng
        )
        ratings = shuffled(n, {"up": rates["up"], "down": rates["down"]}, "", rng)
        flagged = shuffled(n, {"flagged": FLAGGED[variant]}, "", rng)
        for i in range(n):
            thread = f"{variant}-{i}"
            at = START + timedelta(minutes=i)
            log.append(
                InteractionRecord(
                    kind="turn",
                    question="q",
                    answer="a",
                    thread_id=thread,
                    turn=0,
                    at=at,
                    outcome=Outcome(outcomes[i]),
                    action=Action.RETRIEVE,
                    removed_citations=int(flagged[i] == "flagged"),
                    variant=variant,
                    latency_ms=MEDIAN_MS[variant] * rng.lognormvariate(0, 0.5),
                )
            )
            if ratings[i]:
                # A first rating the customer then changes: the latest one counts.
                other = "down" if ratings[i] == "up" else "up"
                for feedback in (other, ratings[i]):
                    log.append(
                        InteractionRecord(
                            question="q", feedback=feedback, thread_id=thread, turn=0, at=at
                        )
                    )


def test_the_report_recovers_known_rates_within_its_intervals(tmp_path: Path) -> None:
    path = tmp_path / "interactions.jsonl"
    synthetic_log(path, 3000)
    report = experiment_report(read_log(path).rows)

    assert [arm.variant for arm in report.arms] == ["control", "treatment"]
    for arm in report.arms:
        assert arm.turns == arm.threads == 3000
        truth = ARMS[arm.variant]
        expected = {
            "thumbs_up": truth["up"],
            "thumbs_down": truth["down"],
            "handed_over": truth["escalated"],
            "declined": truth["declined"],
            "clarified": truth["clarify"],
            "citations_flagged": FLAGGED[arm.variant],
        }
        for metric, rate in expected.items():
            estimate = arm.rates[metric]
            assert estimate.rate == pytest.approx(rate), (arm.variant, metric, estimate)
            assert estimate.low < rate < estimate.high, (arm.variant, metric, estimate)
        assert arm.latency_p50 is not None
        assert arm.latency_p50.low <= MEDIAN_MS[arm.variant] <= arm.latency_p50.high
    verdicts = {c.metric: c for c in report.comparisons}
    # Differences of 5 points and more on 3,000 turns an arm are found; equal rates are not.
    # (That a Wilson interval covers a sampled rate 95 % of the time is tested below.)
    for metric in ("thumbs_up", "thumbs_down", "handed_over", "declined", "citations_flagged"):
        assert verdicts[metric].significant, verdicts[metric]
    assert not verdicts["clarified"].significant


def test_a_difference_not_yet_significant_says_how_many_more_turns_it_needs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "interactions.jsonl"
    synthetic_log(path, 100)
    report = experiment_report(read_log(path).rows, control="control")
    up = next(c for c in report.comparisons if c.metric == "thumbs_up")
    assert not up.significant  # 30 % vs 20 % on 100 turns each: p = 0.10
    assert up.more_turns_per_arm == turns_per_arm(0.30, 0.20) - 100
    assert "more turns per arm" in up.verdict


def test_wilson_intervals_cover_the_true_rate_about_95_percent_of_the_time() -> None:
    rng = random.Random(1)
    covered = 0
    for _ in range(2000):
        n = 200
        hits = sum(rng.random() < 0.1 for _ in range(n))
        covered += wilson(hits, n).covers(0.1)
    assert 0.93 <= covered / 2000 <= 0.97


def test_the_turns_needed_are_the_textbook_ones() -> None:
    # 30 % vs 25 %, alpha 0.05 two-sided, 80 % power: (1.960 * sqrt(2 * .275 * .725)
    # + 0.842 * sqrt(.21 + .1875))^2 / .05^2 = 1250.7 -> 1,251 per arm (no continuity correction).
    assert turns_per_arm(0.30, 0.25) == 1251
    assert turns_per_arm(0.2, 0.2) is None
    # At that size the same difference is significant, a tenth of it is not.
    assert two_proportion_test(375, 1250, 312, 1250).significant
    assert not two_proportion_test(37, 125, 31, 125).significant


def test_since_leaves_out_older_turns_and_a_rating_joins_its_turn(tmp_path: Path) -> None:
    path = tmp_path / "interactions.jsonl"
    synthetic_log(path, 100)
    report = experiment_report(read_log(path).rows, since=START + timedelta(minutes=50))
    assert [arm.turns for arm in report.arms] == [50, 50]


def test_the_report_command_prints_each_variant_and_its_verdicts(tmp_path: Path) -> None:
    path = tmp_path / "interactions.jsonl"
    synthetic_log(path, 100)
    out, chart = tmp_path / "report.json", tmp_path / "rates.png"
    result = CliRunner().invoke(
        app,
        ["report", "--log", str(path), "--json", str(out), "--png", str(chart)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "control (control)" in result.output and "treatment" in result.output
    assert "thumbs-up rate" in result.output and "latency p95 (ms)" in result.output
    assert "treatment vs control, thumbs-up rate" in result.output
    assert "more turns per arm" in result.output
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert [arm["turns"] for arm in saved["arms"]] == [100, 100]
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("since", ["yesterday", "7x"])
def test_a_bad_since_is_one_clear_error(tmp_path: Path, since: str) -> None:
    path = tmp_path / "interactions.jsonl"
    synthetic_log(path, 5)
    result = CliRunner().invoke(app, ["report", "--log", str(path), "--since", since])
    assert result.exit_code == 1
    assert "--since" in result.output

"""The three outcomes of a searched turn: a plain answer, a hedged one with a person offered,
or a decline; the judge's two calibrated thresholds and their order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from doubles import (
    HashEmbedder,
    ListRetriever,
    ScriptedChatModel,
    chunk,
    constant_head,
    graph_deps,
    script,
)
from pydantic import ValidationError

from assistant.errors import InputError
from assistant.graph.builder import build_graph
from assistant.graph.configuration import TurnConfig
from assistant.graph.prompts import HEDGE
from assistant.graph.state import new_turn
from assistant.interfaces.slack.render import answer_blocks
from assistant.interfaces.slack.thread_keys import ButtonValue, SlackThread
from assistant.schemas import Action, Answer, Outcome
from assistant.settings import Settings
from assistant.training.behaviour_fit import save_judge
from assistant.training.fitting import false_alarm_ceiling, fit_head, recall_floor
from assistant.turn.evidence import FEATURES, TURN_FEATURES, EvidenceReader
from assistant.turn.heads import LinearHead, PlattScaling
from assistant.turn.judgement import open_judge


def judge_folder(tmp_path: Path, p: float) -> Path:
    turn = constant_head(TURN_FEATURES, p, threshold=0.3, confident_at=0.7)
    save_judge(turn, constant_head(FEATURES, 0.9), tmp_path)
    return tmp_path


def graph_judged_at(settings: Settings, tmp_path: Path, p: float) -> Any:
    """The support graph whose judge reads every search at P(answers) = `p` (answer at 0.3,
    plainly at 0.7), over one chunk, drafting a cited answer."""
    settings.answer_mode = "generative"
    reader = EvidenceReader(HashEmbedder(64))
    judge = open_judge("fitted", judge_folder(tmp_path, p), reader, -1.0, clarify=False)
    model = ScriptedChatModel(respond=script("search", "Reset it in Settings [1]."))
    return build_graph(graph_deps(settings, model, ListRetriever([chunk(1)]), judge=judge))


TURN = new_turn("How do I reset my password?", "default")


@pytest.mark.parametrize(
    ("p", "outcome"),
    [(0.9, Outcome.ANSWERED), (0.5, Outcome.HEDGED), (0.1, Outcome.DECLINED)],
)
def test_the_judges_confidence_picks_a_plain_a_hedged_answer_or_a_decline(
    settings: Settings, tmp_path: Path, p: float, outcome: Outcome
) -> None:
    answer = graph_judged_at(settings, tmp_path, p).invoke(TURN)["answer"]
    assert answer.outcome is outcome
    if outcome is Outcome.HEDGED:
        assert answer.notice == HEDGE
        assert answer.offer_human
        assert answer.citations and answer.text.startswith("Reset it in Settings")
        assert HEDGE in answer.shown_text()
    else:
        assert answer.notice == ""
        assert answer.shown_text() == answer.text


def test_a_run_can_move_the_thresholds_and_their_order_is_enforced(
    settings: Settings, tmp_path: Path
) -> None:
    graph = graph_judged_at(settings, tmp_path, 0.5)
    plain = {"configurable": {"judge_confident_at": 0.5}}
    assert graph.invoke(TURN, plain)["answer"].outcome is Outcome.ANSWERED
    stricter = {"configurable": {"judge_answer_at": 0.6, "judge_confident_at": 0.9}}
    assert graph.invoke(TURN, stricter)["answer"].outcome is Outcome.DECLINED

    with pytest.raises(ValidationError, match="judge_confident_at"):
        Settings(judge_answer_at=0.6, judge_confident_at=0.4)
    with pytest.raises(ValidationError, match="judge_confident_at"):
        TurnConfig.from_runnable_config(
            {"configurable": {"judge_answer_at": 0.8, "judge_confident_at": 0.2}},
            TurnConfig.from_settings(settings),
        )
    # Below the head's own answer threshold (0.3): a start-up error, never a silent fallback.
    with pytest.raises(InputError, match="CONFIDENT_AT"):
        open_judge("fitted", tmp_path, EvidenceReader(HashEmbedder(64)), -1.0, confident_at=0.2)


def test_a_head_fitted_before_there_were_two_bands_never_hedges(tmp_path: Path) -> None:
    reader = EvidenceReader(HashEmbedder(64))
    save_judge(
        constant_head(TURN_FEATURES, 0.5, threshold=0.3), constant_head(FEATURES, 0.9), tmp_path
    )
    judgement = open_judge("fitted", tmp_path, reader, -1.0, clarify=False).judge(
        "How do I reset my password?", "", [chunk(1)]
    )
    assert judgement.answerable and not judgement.hedged


def test_calibration_makes_the_probability_the_share_of_positives() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    x = rng.normal(size=(n, 2))
    truth = 1 / (1 + np.exp(-(1.5 * x[:, 0] - 1.0)))
    y = np.where(rng.random(n) < truth, "yes", "no")
    groups = [str(i) for i in range(n)]

    def fit(calibrate: bool) -> LinearHead:
        return fit_head(
            x,
            list(y),
            groups,
            kind="judge",
            labels=["no", "yes"],
            inputs=["a", "b"],
            embedder="hash",
            trained_on=["t"],
            rule=recall_floor(0.9),
            calibrate=calibrate,
            confident_rule=false_alarm_ceiling(0.1),
        )

    raw, calibrated = fit(False), fit(True)
    assert raw.calibration is None and isinstance(calibrated.calibration, PlattScaling)
    assert calibrated.held_out is not None and len(calibrated.held_out.reliability) >= 5

    def error(head: LinearHead) -> float:
        # Predicted against observed on fresh draws, bin by bin.
        fresh = rng.normal(size=(n, 2))
        p = head.probabilities(fresh)[:, 1]
        observed = rng.random(n) < 1 / (1 + np.exp(-(1.5 * fresh[:, 0] - 1.0)))
        bins = np.clip((p * 10).astype(int), 0, 9)
        return float(
            sum(
                abs(p[bins == b].mean() - observed[bins == b].mean()) * np.sum(bins == b)
                for b in np.unique(bins)
            )
            / n
        )

    # Balanced class weights overstate the rarer positives; Platt scaling takes that out.
    assert error(calibrated) < 0.03 < error(raw)
    for row in calibrated.held_out.reliability:
        if row.examples >= 100:
            assert abs(row.predicted - row.observed) < 0.08
    assert calibrated.confident_at is not None and calibrated.confident_at >= calibrated.threshold
    assert calibrated.held_out.metrics["confident_negatives"] <= 0.1 + 1e-9


def test_slack_shows_the_hedge_with_the_button_to_a_person() -> None:
    hedged = Answer(
        text="Reset it in Settings [1].",
        outcome=Outcome.HEDGED,
        action=Action.RETRIEVE,
        notice=HEDGE,
        offer_human=True,
    )
    thread = SlackThread(team="T1", channel="C1", thread_ts="1700000000.000100")
    value = ButtonValue(thread=thread, turn=0, outcome=Outcome.HEDGED)
    rendered = str([b.to_dict() for b in answer_blocks(hedged, value, can_escalate=True)])
    assert "I am not sure this fully answers your question" in rendered
    assert "Escalate to a human" in rendered


def test_a_run_that_sets_the_plain_answer_threshold_to_zero_never_hedges(
    settings: Settings, tmp_path: Path
) -> None:
    # The evaluation's `no-hedge` variant.
    no_hedge = {"configurable": {"judge_confident_at": 0.0}}
    assert (
        graph_judged_at(settings, tmp_path, 0.5).invoke(TURN, no_hedge)["answer"].outcome
        is Outcome.ANSWERED
    )

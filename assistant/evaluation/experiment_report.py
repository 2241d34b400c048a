"""`assistant report`: the experiment's arms compared on the interaction log's turns and ratings.

Each turn of the assistant (not a human agent's reply) counts once, in the variant its record
names (`(none)` for turns logged without an experiment). A rating joins the turn it rates by
(thread, turn), its latest rating winning, as the flywheel joins them. Every rate is a share of
the arm's turns, so an arm whose customers rate less often shows it as fewer thumbs either way.
Each arm is compared with the control (the first variant by name unless one is named) by a
two-proportion z-test (`assistant.evaluation.proportions`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from pydantic import BaseModel

from assistant.errors import InputError
from assistant.evaluation.proportions import (
    ALPHA,
    Interval,
    percentile_interval,
    two_proportion_test,
    wilson,
)
from assistant.interaction_log import Feedback, InteractionRecord, LoggedRow
from assistant.schemas import Outcome

NO_VARIANT = "(none)"

RATES: dict[str, str] = {
    "thumbs_up": "thumbs-up rate",
    "thumbs_down": "thumbs-down rate",
    "handed_over": "hand-over rate",
    "hedged": "hedged-answer rate",
    "declined": "decline rate",
    "clarified": "clarify rate",
    "citations_flagged": "citations removed or flagged",
}
_COUNTED: dict[str, Callable[[InteractionRecord, Feedback | None], bool]] = {
    "thumbs_up": lambda turn, rating: rating == "up",
    "thumbs_down": lambda turn, rating: rating == "down",
    "handed_over": lambda turn, rating: turn.outcome is Outcome.ESCALATED,
    "hedged": lambda turn, rating: turn.outcome is Outcome.HEDGED,
    "declined": lambda turn, rating: turn.outcome is Outcome.DECLINED,
    "clarified": lambda turn, rating: turn.outcome is Outcome.CLARIFY,
    "citations_flagged": lambda turn, rating: turn.flagged_citations,
}


class Rate(BaseModel):
    count: int
    turns: int
    rate: float
    low: float
    high: float


class Latency(BaseModel):
    ms: float
    low: float
    high: float


class Arm(BaseModel):
    variant: str
    turns: int
    threads: int
    rated: int
    rates: dict[str, Rate]
    latency_p50: Latency | None
    latency_p95: Latency | None


class Comparison(BaseModel):
    """One rate of `variant` against the control's."""

    metric: str
    control: str
    variant: str
    delta: float
    p_value: float
    significant: bool
    more_turns_per_arm: int | None
    """Turns each arm still needs for the observed difference to be significant (80 % power);
    0 when it is; None when the rates are equal."""

    @property
    def verdict(self) -> str:
        p = "p<0.001" if self.p_value < 0.001 else f"p={self.p_value:.3f}"
        if self.significant:
            return f"{'higher' if self.delta > 0 else 'lower'} ({p})"
        if self.more_turns_per_arm is None:
            return "no difference seen"
        more = self.more_turns_per_arm
        return f"not yet significant ({p}); ~{more:,} more turns per arm would tell"


class ExperimentReport(BaseModel):
    test: str = "two-proportion z-test (pooled, two-sided, alpha 0.05)"
    since: datetime | None
    control: str
    arms: list[Arm]
    comparisons: list[Comparison]


def experiment_report(
    rows: Sequence[LoggedRow], *, since: datetime | None = None, control: str | None = None
) -> ExperimentReport:
    """Per variant: turns, threads, the `RATES` with intervals, latency p50/p95 with
    bootstrap intervals; and each variant's rates tested against the `control`'s."""
    turns: dict[tuple[str, int], InteractionRecord] = {}
    loose: list[InteractionRecord] = []  # turns without a key (hand-written rows)
    ratings: dict[tuple[str, int], Feedback] = {}
    for row in rows:
        record = row.record
        if record.kind == "turn":
            if record.outcome is Outcome.HUMAN_REPLY:
                continue  # a person's words, not the assistant's turn
            if since is not None and (record.at is None or record.at < since):
                continue
            if record.key is None:
                loose.append(record)
            else:
                turns[record.key] = record
        elif record.feedback is not None and record.key is not None:
            ratings[record.key] = record.feedback  # the latest rating of a turn wins
    by_variant: dict[str, list[tuple[InteractionRecord, Feedback | None]]] = {}
    for key, turn in turns.items():
        by_variant.setdefault(turn.variant or NO_VARIANT, []).append((turn, ratings.get(key)))
    for turn in loose:
        by_variant.setdefault(turn.variant or NO_VARIANT, []).append((turn, None))
    if not by_variant:
        raise InputError(
            "the log holds no turns of the assistant" + (" since then" if since else "")
        )
    names = sorted(by_variant)
    chosen = control or names[0]
    if chosen not in by_variant:
        raise InputError(f"no turns of the control {chosen!r}; the log has {', '.join(names)}")
    arms = {name: _arm(name, by_variant[name]) for name in names}
    comparisons = [
        _compare(metric, arms[chosen], arms[name])
        for name in names
        if name != chosen
        for metric in RATES
    ]
    return ExperimentReport(
        since=since,
        control=chosen,
        arms=[arms[chosen]] + [arms[n] for n in names if n != chosen],
        comparisons=comparisons,
    )


def _arm(name: str, turns: list[tuple[InteractionRecord, Feedback | None]]) -> Arm:
    n = len(turns)
    rates = {}
    for metric, counted in _COUNTED.items():
        count = sum(counted(turn, rating) for turn, rating in turns)
        interval = wilson(count, n)
        rates[metric] = Rate(
            count=count, turns=n, rate=interval.value, low=interval.low, high=interval.high
        )
    latencies = [t.latency_ms for t, _ in turns if t.latency_ms is not None]
    return Arm(
        variant=name,
        turns=n,
        threads=len({t.thread_id for t, _ in turns if t.thread_id is not None}),
        rated=sum(rating is not None for _, rating in turns),
        rates=rates,
        latency_p50=_latency(percentile_interval(latencies, 50)),
        latency_p95=_latency(percentile_interval(latencies, 95)),
    )


def _latency(interval: Interval | None) -> Latency | None:
    if interval is None:
        return None
    return Latency(ms=interval.value, low=interval.low, high=interval.high)


def _compare(metric: str, control: Arm, arm: Arm) -> Comparison:
    a, b = control.rates[metric], arm.rates[metric]
    test = two_proportion_test(a.count, a.turns, b.count, b.turns, alpha=ALPHA)
    return Comparison(
        metric=metric,
        control=control.variant,
        variant=arm.variant,
        delta=test.delta,
        p_value=test.p_value,
        significant=test.significant,
        more_turns_per_arm=test.more_per_arm,
    )

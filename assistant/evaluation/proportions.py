"""Intervals and tests for comparing two arms of an experiment: rates and latencies.

Rates (a share of turns) get Wilson score intervals, which keep their coverage near 0 and 1
and on small arms where the normal interval does not. A difference of two rates is tested with
the two-proportion z-test (pooled variance, two-sided); when it is not significant, the turns
each arm would need follow from the usual normal-approximation power calculation at the rates
observed. Percentiles of latency get a percentile-bootstrap interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

ALPHA = 0.05
POWER = 0.8
BOOTSTRAP_RESAMPLES = 1000

_NORMAL = NormalDist()


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95 % interval."""

    value: float
    low: float
    high: float

    def covers(self, x: float) -> bool:
        return self.low <= x <= self.high


@dataclass(frozen=True)
class Difference:
    """A two-proportion z-test of arm b against arm a."""

    delta: float
    """b's rate minus a's."""
    z: float
    p_value: float
    more_per_arm: int | None
    """Turns each arm still needs for this difference to be found at `ALPHA` with `POWER`
    (0 when it is significant; None when the observed rates are equal: no size will do)."""

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def wilson(successes: int, n: int, *, alpha: float = ALPHA) -> Interval:
    """The rate successes/n with its Wilson score interval; (0, 0, 1) for an empty arm."""
    if n == 0:
        return Interval(0.0, 0.0, 1.0)
    z = _NORMAL.inv_cdf(1 - alpha / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def two_proportion_test(
    successes_a: int, n_a: int, successes_b: int, n_b: int, *, alpha: float = ALPHA
) -> Difference:
    """Whether the rates of a and b differ (two-sided, pooled), and how many more turns per
    arm it would take to tell when they do not yet."""
    if n_a == 0 or n_b == 0:
        return Difference(0.0, 0.0, 1.0, None)
    p_a, p_b = successes_a / n_a, successes_b / n_b
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return Difference(p_b - p_a, 0.0, 1.0, None)
    z = (p_b - p_a) / se
    p_value = 2 * (1 - _NORMAL.cdf(abs(z)))
    if p_value < alpha:
        more: int | None = 0
    else:
        needed = turns_per_arm(p_a, p_b, alpha=alpha)
        more = None if needed is None else max(0, needed - min(n_a, n_b))
    return Difference(p_b - p_a, z, p_value, more)


def turns_per_arm(
    p_a: float, p_b: float, *, alpha: float = ALPHA, power: float = POWER
) -> int | None:
    """Turns each arm needs for a two-sided z-test at `alpha` to find p_a != p_b with `power`
    (normal approximation); None when the rates are equal."""
    if p_a == p_b:
        return None
    z_alpha = _NORMAL.inv_cdf(1 - alpha / 2)
    z_beta = _NORMAL.inv_cdf(power)
    mean = (p_a + p_b) / 2
    spread = z_alpha * math.sqrt(2 * mean * (1 - mean)) + z_beta * math.sqrt(
        p_a * (1 - p_a) + p_b * (1 - p_b)
    )
    return math.ceil(spread**2 / (p_a - p_b) ** 2)


def percentile_interval(
    values: list[float], q: float, *, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES
) -> Interval | None:
    """The `q`-th percentile (0-100) of `values` with a 95 % percentile-bootstrap interval;
    None when there are no values."""
    if not values:
        return None
    data = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    # In chunks, so a long log's latencies never make one resamples x n array.
    chunk = max(1, 2_000_000 // len(data))
    estimates = np.concatenate(
        [
            np.percentile(rng.choice(data, size=(min(chunk, resamples - i), len(data))), q, axis=1)
            for i in range(0, resamples, chunk)
        ]
    )
    low, high = np.percentile(estimates, [100 * ALPHA / 2, 100 * (1 - ALPHA / 2)])
    return Interval(float(np.percentile(data, q)), float(low), float(high))

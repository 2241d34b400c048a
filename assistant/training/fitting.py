"""Fit a `LinearHead`: logistic regression, scored and thresholded out of fold.

Folds split by group (an MTRAG conversation, or a text), so no conversation is on both sides.
The threshold is chosen on the out-of-fold predictions of the training data by a stated rule,
never on the data a head is later scored on; the head itself is then fitted on all of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from itertools import pairwise

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

from assistant.turn.heads import (
    HeadKind,
    HeadScores,
    LinearHead,
    PlattScaling,
    ReliabilityBin,
    logit,
)

FOLDS = 5
# L2 strength: small feature sets and a few hundred conversations; 0.1 held up across domains.
REGULARISATION = 0.1

ThresholdRule = Callable[[np.ndarray, np.ndarray], tuple[float, dict[str, float]]]
"""(out-of-fold P(labels), label indices) -> (threshold, held-out metrics at it)."""


def data_hash(rows: np.ndarray, labels: Sequence[str]) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(rows, dtype=np.float64).tobytes())
    digest.update("\n".join(labels).encode("utf-8"))
    return digest.hexdigest()[:16]


def fit_head(
    rows: np.ndarray,
    targets: Sequence[str],
    groups: Sequence[str],
    *,
    kind: HeadKind,
    labels: Sequence[str],
    inputs: Sequence[str],
    embedder: str,
    trained_on: Sequence[str],
    rule: ThresholdRule,
    regularisation: float = REGULARISATION,
    calibrate: bool = False,
    confident_rule: ThresholdRule | None = None,
    sample_weight: np.ndarray | None = None,
    rule_on: np.ndarray | None = None,
) -> LinearHead:
    """A head over `rows` (n x len(inputs)) predicting `targets` (each one of `labels`).

    `calibrate` (binary heads): Platt scaling fitted on the out-of-fold predictions, so the
    head's probability is the share of positives at it; the rules then read calibrated
    predictions and the held-out scores carry a reliability table. `confident_rule` sets a
    second, higher threshold (`confident_at`) on the same predictions. `sample_weight` weighs
    rows in the regressions (not in the rules, which count rows); `rule_on` (a mask) picks the
    rows whose out-of-fold predictions the rules read (all by default).
    """
    missing = sorted(set(labels) - set(targets))
    if missing:
        raise ValueError(f"no training examples of {', '.join(missing)}")
    y = np.array([list(labels).index(t) for t in targets])
    oof = _out_of_fold(rows, y, np.asarray(groups), len(labels), regularisation, sample_weight)
    calibration = None
    reliability: list[ReliabilityBin] = []
    if calibrate and len(labels) == 2:
        calibration = platt_scaling(oof[:, 1], y)
        positive = calibration.apply(oof[:, 1])
        oof = np.stack([1.0 - positive, positive], axis=1)
        reliability = reliability_table(positive, y)
    ruled, ruled_y = (oof, y) if rule_on is None else (oof[rule_on], y[rule_on])
    threshold, metrics = rule(ruled, ruled_y)
    confident_at = None
    if confident_rule is not None:
        confident_at = max(confident_rule(ruled, ruled_y)[0], threshold)
        metrics["confident_positives"] = float(np.mean(ruled[ruled_y == 1, 1] >= confident_at))
        metrics["confident_negatives"] = float(np.mean(ruled[ruled_y == 0, 1] >= confident_at))
    scaler, model = _fit(rows, y, regularisation, sample_weight)
    weights = model.coef_ if len(labels) > 2 else model.coef_[:1]
    return LinearHead(
        kind=kind,
        labels=list(labels),
        inputs=list(inputs),
        mean=scaler.mean_.tolist(),
        scale=scaler.scale_.tolist(),
        weights=np.round(weights, 6).tolist(),
        intercept=np.round(model.intercept_, 6).tolist(),
        threshold=round(threshold, 4),
        calibration=calibration,
        confident_at=None if confident_at is None else round(confident_at, 4),
        embedder=embedder,
        trained_on=list(trained_on),
        data_hash=data_hash(rows, targets),
        held_out=HeadScores(
            examples=len(ruled_y),
            metrics={k: round(v, 4) for k, v in metrics.items()},
            reliability=reliability,
        ),
    )


def platt_scaling(p: np.ndarray, y: np.ndarray) -> PlattScaling:
    """A one-feature logistic regression of the labels on logit(p), barely regularised."""
    model = LogisticRegression(C=1e4, max_iter=1000).fit(logit(p).reshape(-1, 1), y)
    return PlattScaling(
        slope=round(float(model.coef_[0, 0]), 6), offset=round(float(model.intercept_[0]), 6)
    )


def reliability_table(p: np.ndarray, y: np.ndarray, bins: int = 10) -> list[ReliabilityBin]:
    """Predicted against observed in equal-width bins of `p` (empty bins left out)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    table = []
    for low, high in pairwise(edges):
        inside = (p >= low) & ((p < high) if high < 1.0 else (p <= high))
        if np.any(inside):
            table.append(
                ReliabilityBin(
                    low=round(float(low), 2),
                    high=round(float(high), 2),
                    examples=int(inside.sum()),
                    predicted=round(float(p[inside].mean()), 4),
                    observed=round(float(y[inside].mean()), 4),
                )
            )
    return table


def _fit(
    rows: np.ndarray, y: np.ndarray, c: float, sample_weight: np.ndarray | None = None
) -> tuple[StandardScaler, LogisticRegression]:
    scaler = StandardScaler().fit(rows)
    # Where a column is constant StandardScaler keeps scale 1, so a head never divides by 0.
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    model.fit(scaler.transform(rows), y, sample_weight=sample_weight)
    return scaler, model


def folds(groups: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs of the cross-validation; a group is never on both sides."""
    index = np.arange(len(groups))
    return list(GroupKFold(n_splits=FOLDS).split(index, index, np.asarray(groups)))


def _out_of_fold(
    rows: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    n_labels: int,
    c: float,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    oof = np.zeros((len(y), n_labels))
    for train, test in folds(list(groups)):
        weight = None if sample_weight is None else sample_weight[train]
        scaler, model = _fit(rows[train], y[train], c, weight)
        p = model.predict_proba(scaler.transform(rows[test]))
        oof[np.ix_(test, model.classes_)] = p
    return oof


def recall_floor(min_recall: float) -> ThresholdRule:
    """Binary: the highest threshold at which at least `min_recall` of the positives pass.

    For the turn judgement: declining a question the knowledge base answers fails the customer
    as surely as answering one it does not, and most questions are answerable.
    """

    def rule(oof: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, float]]:
        p = oof[:, 1]
        positives = np.sort(p[y == 1])
        threshold = float(positives[int(np.floor((1 - min_recall) * len(positives)))])
        return threshold, {
            "auc": float(roc_auc_score(y, p)),
            "positives_passed": float(np.mean(p[y == 1] >= threshold)),
            "negatives_stopped": float(np.mean(p[y == 0] < threshold)),
        }

    return rule


def false_alarm_ceiling(max_flagged: float) -> ThresholdRule:
    """Binary: the lowest threshold at which at most `max_flagged` of the negatives are flagged.

    For the clarify head: asking "which one do you mean?" of a question that was clear fails
    the customer, so the clear questions bound how often it may ask.
    """

    def rule(oof: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, float]]:
        p = oof[:, 1]
        negatives = np.sort(p[y == 0])
        allowed = int(np.floor(max_flagged * len(negatives)))
        # Just above the highest negative score that must stay unflagged.
        threshold = float(np.nextafter(negatives[len(negatives) - allowed - 1], 1.0))
        return threshold, {
            "auc": float(roc_auc_score(y, p)),
            "positives_flagged": float(np.mean(p[y == 1] >= threshold)),
            "negatives_flagged": float(np.mean(p[y == 0] >= threshold)),
        }

    return rule


def best_f1(oof: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, float]]:
    """Binary: the threshold with the best F1 of the positive label (for the chunk head)."""
    p = oof[:, 1]
    best = (0.0, 0.5, 0.0, 0.0)
    for threshold in np.unique(np.round(p, 3)):
        chosen = p >= threshold
        tp = float(np.sum(chosen & (y == 1)))
        precision = tp / max(float(chosen.sum()), 1.0)
        recall = tp / max(float(np.sum(y == 1)), 1.0)
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        if f1 > best[0]:
            best = (f1, float(threshold), precision, recall)
    f1, threshold, precision, recall = best
    return threshold, {
        "auc": float(roc_auc_score(y, p)),
        "f1": f1,
        "precision": precision,
        "recall": recall,
    }


def search_margin(
    labels: Sequence[str], keep_searched: float, counted: np.ndarray
) -> ThresholdRule:
    """Multiclass: the smallest margin over `search` at which at least `keep_searched` of the
    `counted` rows (the support-task rows) labelled search are still searched.

    Held-out metrics: each label's recall at that margin, and the counted rows' own.
    """
    search = list(labels).index("search")
    margins = np.round(np.arange(0.0, 1.0, 0.05), 2)

    def decide(oof: np.ndarray, margin: float) -> np.ndarray:
        best = oof.argmax(axis=1)
        wins = oof[np.arange(len(oof)), best] - oof[:, search] >= margin
        return np.where((best != search) & wins, best, search)

    def rule(oof: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, float]]:
        kept = counted & (y == search)
        chosen = next(
            (
                float(m)
                for m in margins
                if np.mean(decide(oof, float(m))[kept] == search) >= keep_searched
            ),
            float(margins[-1]),
        )
        picked = decide(oof, chosen)
        metrics = {
            f"recall_{label}": float(np.mean(picked[y == i] == i))
            for i, label in enumerate(labels)
            if np.any(y == i)
        }
        for i, label in enumerate(labels):
            rows = counted & (y == i)
            if np.any(rows):
                metrics[f"tasks_recall_{label}"] = float(np.mean(picked[rows] == i))
        return chosen, metrics

    return rule


def most_likely(oof: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, float]]:
    """Multiclass, no threshold (the likeliest label wins): accuracy and the lowest recall of
    a label, out of fold (for the small-talk head)."""
    picked = oof.argmax(axis=1)
    recalls = [float(np.mean(picked[y == i] == i)) for i in np.unique(y)]
    return 0.0, {"accuracy": float(np.mean(picked == y)), "min_recall": min(recalls)}

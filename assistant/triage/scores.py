"""Scores of triage and escalation predictions on the dev hold-out.

The scores are pure functions over (gold, prediction) pairs, so the same code scores the
adapter, the prompted base model and the embedding baseline; ``predict`` runs a model over
dev examples. A prediction of None is a reply that never
validated: it counts as wrong everywhere and lowers the JSON validity rate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from assistant.llm.errors import ModelOutputError
from assistant.policy import TriagePolicy
from assistant.schemas import ChatExample, EscalationDecision, TriageResult

if TYPE_CHECKING:  # the scores are read by reports that load no model
    from langchain_core.language_models import BaseChatModel

T = TypeVar("T", bound=BaseModel)


class TriageScores(BaseModel):
    n: int
    category_accuracy: float
    category_macro_f1: float
    priority_accuracy: float
    needs_human_accuracy: float
    json_valid_rate: float
    """Share of replies valid on the first try (before any repair)."""


class EscalationScores(BaseModel):
    n: int
    accuracy: float
    precision: float
    recall: float
    reason_accuracy: float | None
    """Among gold escalations, the share with the right reason (None: predictions have none)."""
    json_valid_rate: float


def accuracy(gold: Sequence[object], predicted: Sequence[object]) -> float:
    """Share of positions where the two sequences agree (0 for empty input)."""
    if not gold:
        return 0.0
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)


def macro_f1(gold: Sequence[str], predicted: Sequence[str | None]) -> float:
    """Unweighted mean F1 over every label seen in ``gold`` or ``predicted``."""
    labels = {*gold, *(p for p in predicted if p is not None)}
    if not labels:
        return 0.0
    total = 0.0
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        total += 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return total / len(labels)


def score_triage(
    gold: Sequence[TriageResult],
    predicted: Sequence[TriageResult | None],
    first_try_valid: Sequence[bool],
) -> TriageScores:
    """Category accuracy and macro-F1, priority and needs_human accuracy, JSON validity."""
    category = [p.category if p else None for p in predicted]
    return TriageScores(
        n=len(gold),
        category_accuracy=accuracy([g.category for g in gold], category),
        category_macro_f1=macro_f1([g.category for g in gold], category),
        priority_accuracy=accuracy(
            [g.priority for g in gold], [p.priority if p else None for p in predicted]
        ),
        needs_human_accuracy=accuracy(
            [g.needs_human for g in gold], [p.needs_human if p else None for p in predicted]
        ),
        json_valid_rate=sum(first_try_valid) / len(gold) if gold else 0.0,
    )


def score_escalation(
    gold: Sequence[EscalationDecision],
    predicted: Sequence[EscalationDecision | bool | None],
    first_try_valid: Sequence[bool],
) -> EscalationScores:
    """Precision and recall of ``escalate`` (positive = escalate), reason accuracy, validity.

    A prediction may be a bare bool (a classifier that only decides): then there is no reason
    to score and ``reason_accuracy`` is None.
    """
    decided = [p if p is None or isinstance(p, bool) else p.escalate for p in predicted]
    pairs = list(zip(gold, decided, strict=True))
    tp = sum(g.escalate and p is True for g, p in pairs)
    fp = sum(not g.escalate and p is True for g, p in pairs)
    positives = [(g, p) for g, p in zip(gold, predicted, strict=True) if g.escalate]
    reasons = None
    if positives and not any(isinstance(p, bool) for p in predicted):
        right = sum(
            isinstance(p, EscalationDecision) and p.reason == g.reason for g, p in positives
        )
        reasons = right / len(positives)
    return EscalationScores(
        n=len(gold),
        accuracy=accuracy([g.escalate for g in gold], decided),
        precision=tp / (tp + fp) if tp + fp else 0.0,
        recall=tp / len(positives) if positives else 0.0,
        reason_accuracy=reasons,
        json_valid_rate=sum(first_try_valid) / len(gold) if gold else 0.0,
    )


def dev_sample(dev: Sequence[ChatExample], limit: int | None) -> list[ChatExample]:
    """Up to ``limit`` dev examples in a stable pseudo-random order.

    The files are grouped by intent, so the first N would cover a handful of labels; ordering
    by a hash of source and key spreads a small sample over all of them, the same every run.
    """
    from assistant.triage.examples import text_hash

    ordered = sorted(dev, key=lambda e: text_hash(f"{e.source}|{e.key}"))
    return ordered if limit is None else ordered[:limit]


def predict(
    model: BaseChatModel,
    examples: Sequence[ChatExample],
    schema: type[T],
    *,
    adapter: str | None,
    regex: str | None,
    on_done: Callable[[], None] | None = None,
    policy: TriagePolicy | None = None,
) -> tuple[list[T | None], list[bool]]:
    """Each example's prompt answered by ``model``: (validated reply or None, valid at once).

    The prompt turns are the example's own, i.e. exactly what the adapter was trained on.
    """
    from assistant.triage.inference import generate_validated

    predictions: list[T | None] = []
    first_try: list[bool] = []
    for example in examples:
        try:
            validated = generate_validated(
                model, example.messages[:-1], schema, adapter=adapter, regex=regex, policy=policy
            )
        except ModelOutputError:
            predictions.append(None)
            first_try.append(False)
        else:
            predictions.append(validated.value)
            first_try.append(not validated.repaired)
        if on_done is not None:
            on_done()
    return predictions, first_try

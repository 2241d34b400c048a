"""The `triage` and `escalation` suites: the adapters' readings of held-out messages.

The scoring is the adapters' own (`assistant.triage.scores`); this adds what a report
needs on top: a label per prediction, per-class scores and the confusion matrix. A class is
the BANKING77 category for triage, and the decision (`escalate` / `no`) for escalation (the
embedding baseline decides without a reason, so the decision is what all variants share).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Literal

from langchain_core.language_models import BaseChatModel
from rich.progress import Progress

from assistant.evaluation.metrics import confusion_matrix, per_class_scores
from assistant.evaluation.results import ClassificationRow, ClassificationVariant
from assistant.knowledge.embedder import Embedder
from assistant.policy import TriagePolicy, shipped_policy
from assistant.schemas import ChatExample, EscalationDecision, Task, TriageResult
from assistant.triage.baseline import escalation_baseline, triage_baseline
from assistant.triage.inference import ESCALATION_REGEX, parse_reply, triage_regex
from assistant.triage.scores import (
    EscalationScores,
    TriageScores,
    macro_f1,
    predict,
    score_escalation,
    score_triage,
)

ClassificationVariantName = Literal[
    "lora", "base", "baseline", "embedded", "server", "classifier", "routed"
]
Prediction = TriageResult | EscalationDecision | bool | None
Predictions = tuple[Sequence[Prediction], Sequence[bool]]
Classifier = Callable[[Sequence[ChatExample], Callable[[], None]], Predictions]
"""Predicts each example (None: no valid reply) and whether its JSON was valid at once;
calls the callback after each example."""

INVALID = "(invalid)"


def label_of(prediction: Prediction) -> str:
    """The class of a prediction (or gold value); `(invalid)` for a reply that never validated."""
    if prediction is None:
        return INVALID
    if isinstance(prediction, TriageResult):
        return prediction.category
    decided = prediction if isinstance(prediction, bool) else prediction.escalate
    return "escalate" if decided else "no"


def user_text(example: ChatExample) -> str:
    """The user turn of an example: what a classifier without the prompt reads."""
    return next(turn.content for turn in example.messages if turn.role == "user")


def llm_classifier(
    model: BaseChatModel, task: Task, adapter: str | None, policy: TriagePolicy | None = None
) -> Classifier:
    """The model (with `adapter`, or the prompted base for None) under the task's JSON regex
    (for triage, the labels of `policy`, default the shipped one)."""
    policy = policy or shipped_policy()

    def classify(examples: Sequence[ChatExample], done: Callable[[], None]) -> Predictions:
        if task == "triage":
            return predict(
                model,
                examples,
                TriageResult,
                adapter=adapter,
                regex=triage_regex(policy),
                on_done=done,
                policy=policy,
            )
        return predict(
            model,
            examples,
            EscalationDecision,
            adapter=adapter,
            regex=ESCALATION_REGEX,
            on_done=done,
        )

    return classify


def baseline_classifier(
    embedder: Embedder,
    task: Task,
    train: Sequence[ChatExample],
    policy: TriagePolicy | None = None,
) -> Classifier:
    """Sentence embeddings + logistic regression, fit on the train split (the adapters' data)."""
    policy = policy or shipped_policy()

    def classify(examples: Sequence[ChatExample], done: Callable[[], None]) -> Predictions:
        texts = [user_text(e) for e in examples]
        predicted: list[Prediction]
        if task == "triage":
            pairs = [
                (user_text(e), parse_reply(e.reply, TriageResult, policy).category) for e in train
            ]
            predicted = [*triage_baseline(embedder, pairs, texts, policy)]
        else:
            decisions = [
                (user_text(e), parse_reply(e.reply, EscalationDecision).escalate) for e in train
            ]
            predicted = [*escalation_baseline(embedder, decisions, texts)]
        for _ in examples:
            done()
        return predicted, [True] * len(examples)

    return classify


def engine_classifier(triage: Callable[[str], TriageResult]) -> Classifier:
    """A triage engine (`assistant.triage.engines`) reading each example's user text."""

    def classify(examples: Sequence[ChatExample], done: Callable[[], None]) -> Predictions:
        predicted: list[Prediction] = []
        for example in examples:
            predicted.append(triage(user_text(example)))
            done()
        return predicted, [True] * len(examples)

    return classify


def evaluate_classification(
    task: Task,
    dev: Sequence[ChatExample],
    classifiers: dict[str, Classifier],
    *,
    writes_json: Callable[[str], bool],
    progress: Progress,
    policy: TriagePolicy | None = None,
) -> tuple[list[str], list[ClassificationVariant]]:
    """Gold labels, and each variant's row, per-class scores, confusion matrix and predictions.

    `writes_json(variant)` says whether a variant answers in JSON (the baseline does not: its
    JSON validity is not a number to report).
    """
    gold_values: list[TriageResult | EscalationDecision] = (
        [parse_reply(e.reply, TriageResult, policy) for e in dev]
        if task == "triage"
        else [parse_reply(e.reply, EscalationDecision) for e in dev]
    )
    gold = [label_of(g) for g in gold_values]
    results = []
    for variant, classify in classifiers.items():
        bar = progress.add_task(f"{task} {variant}", total=len(dev))
        started = time.perf_counter()
        predicted, valid = classify(dev, partial(progress.advance, bar))
        seconds = (time.perf_counter() - started) / max(1, len(dev))
        labels = [label_of(p) for p in predicted]
        accuracy, details = _scores(gold_values, predicted, valid)
        # The adapters' macro-F1: a reply that never validated is no label at all.
        answered = [None if label == INVALID else label for label in labels]
        row = ClassificationRow(
            variant=variant,
            examples=len(dev),
            accuracy=accuracy,
            macro_f1=macro_f1(gold, answered),
            json_valid_rate=sum(valid) / len(valid) if writes_json(variant) and valid else None,
            seconds_per_example=round(seconds, 3),
            details=details,
        )
        results.append(
            ClassificationVariant(
                row=row,
                per_class=per_class_scores(gold, labels),
                confusion=confusion_matrix(gold, labels),
                predictions=labels,
            )
        )
    return gold, results


def _scores(
    gold: Sequence[TriageResult | EscalationDecision],
    predicted: Sequence[Prediction],
    valid: Sequence[bool],
) -> tuple[float, TriageScores | EscalationScores]:
    """The adapters' scores of one variant, and the accuracy the table leads with."""
    triage_gold = [g for g in gold if isinstance(g, TriageResult)]
    if triage_gold:
        triage = [p if isinstance(p, TriageResult) else None for p in predicted]
        scores = score_triage(triage_gold, triage, valid)
        return scores.category_accuracy, scores
    escalation_gold = [g for g in gold if isinstance(g, EscalationDecision)]
    decisions = [None if isinstance(p, TriageResult) else p for p in predicted]
    escalation = score_escalation(escalation_gold, decisions, valid)
    return escalation.accuracy, escalation

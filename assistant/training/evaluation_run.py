"""`assistant adapters eval`: the adapter, the prompted base and the cheap baseline, side by
side on the same dev examples. A thin wrapper of the `triage` and `escalation` suites of
`assistant eval` (`assistant.evaluation.classification`): the same classifiers, the same
scores, the same seeded draw of the dev split; this adds the table and the manifest's keys."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel
from rich.console import Console
from rich.progress import Progress

from assistant.policy import TriagePolicy
from assistant.schemas import ChatExample, Task
from assistant.settings import Settings
from assistant.triage.scores import EscalationScores, TriageScores

BASE = "base (prompted)"
BASELINE = "embeddings+logreg"
# The seed `assistant eval` draws its --limit sample with by default: both commands score the
# same examples.
SEED = 0


class EvalRow(BaseModel):
    """One system's scores on the dev sample."""

    system: str
    scores: TriageScores | EscalationScores
    seconds_per_example: float

    def columns(self) -> list[str]:
        return ["system", *self.scores.model_dump().keys(), "s/example"]

    def cells(self) -> list[str]:
        values = [
            "-" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
            for v in self.scores.model_dump().values()
        ]
        return [self.system, *values, f"{self.seconds_per_example:.2f}"]

    def flat(self) -> dict[str, float]:
        """The scores as ``system.metric`` -> value, for the manifest."""
        out = {
            f"{self.system}.{k}": float(v)
            for k, v in self.scores.model_dump().items()
            if v is not None
        }
        out[f"{self.system}.seconds_per_example"] = self.seconds_per_example
        return out


def run_evaluation(
    settings: Settings,
    adapter: str,
    task: Task,
    train: Sequence[ChatExample],
    dev: Sequence[ChatExample],
    *,
    limit: int | None,
    with_adapter: bool = True,
    base: bool = True,
    baseline: bool = True,
    console: Console,
    policy: TriagePolicy | None = None,
) -> list[EvalRow]:
    """Score ``adapter`` (and the base model, the baseline) on up to ``limit`` dev examples.

    The baseline is also scored on the whole dev split (it is cheap), as a check that the
    sample is representative.
    """
    from assistant.evaluation.classification import (
        Classifier,
        baseline_classifier,
        evaluate_classification,
        llm_classifier,
    )
    from assistant.evaluation.datasets import sample

    picked = sample(dev, limit, SEED)
    classifiers: dict[str, Classifier] = {}
    if with_adapter or base:
        from assistant.llm.embedded import EmbeddedChatModel

        model = EmbeddedChatModel.from_settings(settings)
        if with_adapter:
            classifiers[adapter] = llm_classifier(model, task, adapter, policy)
        if base:
            classifiers[BASE] = llm_classifier(model, task, None, policy)
    whole_dev: dict[str, Classifier] = {}
    if baseline:
        from assistant.knowledge.embedder import open_embedder

        embedder = open_embedder(settings)
        classifiers[BASELINE] = baseline_classifier(embedder, task, train, policy)
        if len(dev) > len(picked):
            whole_dev[f"{BASELINE} (all dev)"] = classifiers[BASELINE]
    rows = []
    with Progress(console=console, transient=True) as progress:
        for examples, systems in ((picked, classifiers), (dev, whole_dev)):
            if not systems:
                continue
            _, variants = evaluate_classification(
                task,
                examples,
                systems,
                writes_json=lambda name: not name.startswith(BASELINE),
                progress=progress,
                policy=policy,
            )
            rows += [
                EvalRow(
                    system=v.row.variant,
                    scores=v.row.details,
                    seconds_per_example=v.row.seconds_per_example,
                )
                for v in variants
            ]
    return rows

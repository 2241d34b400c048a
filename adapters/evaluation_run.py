"""`assistant adapters eval`: the adapter, the prompted base and the cheap baseline, side by
side on the same dev examples."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from assistant.adapters.baseline import escalation_baseline, triage_baseline
from assistant.adapters.evaluate import (
    EscalationScores,
    TriageScores,
    dev_sample,
    predict,
    score_escalation,
    score_triage,
)
from assistant.adapters.inference import ESCALATION_REGEX, TRIAGE_REGEX, parse_reply
from assistant.adapters.schemas import ChatExample, EscalationDecision, Task, TriageResult
from assistant.settings import Settings

if TYPE_CHECKING:
    # sentence-transformers is slow to import; only the baseline rows need it.
    from assistant.embedder import Embedder


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
) -> list[EvalRow]:
    """Score ``adapter`` (and the base model, the baseline) on up to ``limit`` dev examples.

    The baseline is also scored on the whole dev split (it is cheap), as a check that the
    sample is representative.
    """
    from assistant.llm.embedded import EmbeddedChatModel

    sample = dev_sample(dev, limit)
    model = EmbeddedChatModel.from_settings(settings)
    rows = []
    if with_adapter:
        rows.append(_llm_row(model, adapter, adapter, task, sample, console))
    if base:
        rows.append(_llm_row(model, "base (prompted)", None, task, sample, console))
    if baseline:
        from assistant.embedder import load_embedder

        embedder = load_embedder(settings.embedder)
        rows.append(_baseline_row(embedder, "embeddings+logreg", task, train, sample))
        if limit is not None and len(dev) > len(sample):
            rows.append(_baseline_row(embedder, "embeddings+logreg (all dev)", task, train, dev))
    return rows


def _llm_row(
    model: BaseChatModel,
    system: str,
    adapter: str | None,
    task: Task,
    sample: Sequence[ChatExample],
    console: Console,
) -> EvalRow:
    started = time.monotonic()
    with Progress(
        TextColumn(f"[bold]{system}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task(system, total=len(sample))

        def done() -> None:
            progress.advance(bar)

        scores: TriageScores | EscalationScores
        if task == "triage":
            gold_t = [parse_reply(e.reply, TriageResult) for e in sample]
            pred_t, valid = predict(
                model, sample, TriageResult, adapter=adapter, regex=TRIAGE_REGEX, on_done=done
            )
            scores = score_triage(gold_t, pred_t, valid)
        else:
            gold_e = [parse_reply(e.reply, EscalationDecision) for e in sample]
            pred_e, valid = predict(
                model,
                sample,
                EscalationDecision,
                adapter=adapter,
                regex=ESCALATION_REGEX,
                on_done=done,
            )
            scores = score_escalation(gold_e, pred_e, valid)
    seconds = (time.monotonic() - started) / max(1, len(sample))
    return EvalRow(system=system, scores=scores, seconds_per_example=round(seconds, 3))


def _baseline_row(
    embedder: Embedder,
    system: str,
    task: Task,
    train: Sequence[ChatExample],
    sample: Sequence[ChatExample],
) -> EvalRow:
    started = time.monotonic()
    texts = [_user_text(e) for e in sample]
    scores: TriageScores | EscalationScores
    if task == "triage":
        pairs = [(_user_text(e), parse_reply(e.reply, TriageResult).category) for e in train]
        predicted = triage_baseline(embedder, pairs, texts)
        gold_t = [parse_reply(e.reply, TriageResult) for e in sample]
        scores = score_triage(gold_t, [*predicted], [True] * len(sample))
    else:
        decisions = [parse_reply(e.reply, EscalationDecision).escalate for e in train]
        pairs_e = list(zip([_user_text(e) for e in train], decisions, strict=True))
        gold_e = [parse_reply(e.reply, EscalationDecision) for e in sample]
        decided: list[EscalationDecision | bool | None] = [
            *escalation_baseline(embedder, pairs_e, texts)
        ]
        scores = score_escalation(gold_e, decided, [True] * len(sample))
    seconds = (time.monotonic() - started) / max(1, len(sample))
    return EvalRow(system=system, scores=scores, seconds_per_example=round(seconds, 3))


def _user_text(example: ChatExample) -> str:
    """The user turn: the message for triage, message plus context for escalation."""
    return next(t.content for t in example.messages if t.role == "user")

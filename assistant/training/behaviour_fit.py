"""`assistant adapters fit-judge` and `fit-router`: the turn's decisions, fitted from real labels.

The judge's examples are searched with the project's own retriever: each task file's corpus is
ingested into a fresh local index (never the configured knowledge base), at the graph's depth.
The heads land in ``ADAPTERS_DIR/judge/{turn,chunk,clarify}``, ``ADAPTERS_DIR/router`` and
``ADAPTERS_DIR/small_talk`` (`fit-small-talk`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.errors import InputError
from assistant.evaluation.datasets import Fold, SupportQuestion, load_support_qa
from assistant.ingestion.ingest import ingest_paths
from assistant.ingestion.input_limits import InputLimits
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.knowledge.store import KnowledgeStore
from assistant.settings import Settings
from assistant.training.fitting import (
    best_f1,
    false_alarm_ceiling,
    fit_head,
    most_likely,
    recall_floor,
    search_margin,
)
from assistant.training.judge_data import (
    ANSWER_KINDS,
    CLARIFY_KINDS,
    JudgeExample,
    TurnRows,
    judge_examples,
)
from assistant.training.router_data import (
    ROUTER_LABELS,
    RouterExample,
    banking_examples,
    clinc_examples,
    task_examples,
)
from assistant.triage.examples import read_banking77
from assistant.turn.evidence import FEATURES, TURN_FEATURES, EvidenceReader
from assistant.turn.heads import LinearHead
from assistant.turn.judgement import (
    CHUNK_HEAD,
    CLARIFY_HEAD,
    TURN_HEAD,
    clarify_inputs,
    clarify_rows,
    search_row,
)
from assistant.turn.routing import router_inputs, router_rows

JUDGE_LABELS = ("does_not_answer", "answers")
# How much a turn of the team's own log that someone labelled weighs in the turn head's
# regression against one search of the shipped task files (`fit-judge --from-log`).
LOG_WEIGHT = 1.0
# With at least this many logged turns of each label, the turn head's two thresholds are set on
# the logged turns' out-of-fold predictions alone: where to answer depends on the knowledge base
# (pages that all look alike give every question a close match), and the team's turns are the
# sample of theirs. With fewer, on every row.
MIN_LOGGED_PER_LABEL = 10
# The share of answerable searches the fitted turn threshold lets through (out of fold),
# confidently or with a hedge.
MIN_ANSWERED = 0.9
# The share of unanswerable searches the judge may still answer with confidence: above the
# band between, the turn answers plainly; inside it, it says the answer may not cover the
# question and offers a person.
MAX_CONFIDENT_WRONG = 0.1
# The share of the support tasks' searchable questions the router must still search.
KEEP_SEARCHED = 0.95
# The share of clear task questions (out of fold) the clarify head may still ask about.
MAX_CLARIFIED = 0.05
# The clarify head reads the question's embedding (384 inputs for a few hundred questions):
# stronger L2 than the small heads; 0.01 held up out of fold on both task files.
CLARIFY_REGULARISATION = 0.01
CLARIFY_LABELS = ("clear", "clarify")
FIT_TENANT = "fit"


def load_tasks(path: Path, hold_out: Fold | None) -> list[SupportQuestion]:
    """The tasks of `path`, less the conversations of the `hold_out` fold."""
    questions = load_support_qa(path)
    return [q for q in questions if hold_out is None or not hold_out.holds(q.conversation)]


def collect_judge_examples(
    settings: Settings,
    embedder: Embedder,
    sources: Sequence[tuple[Path, Path]],
    *,
    hold_out: Fold | None = None,
) -> list[JudgeExample]:
    """The judge examples of each (tasks file, corpus file) pair, over its own fresh index
    (the whole corpus: a held-out conversation's documents stay searchable)."""
    reader = EvidenceReader(embedder)
    examples: list[JudgeExample] = []
    for tasks_path, corpus in sources:
        questions = load_tasks(tasks_path, hold_out)
        with tempfile.TemporaryDirectory(prefix="fit-judge-") as workdir:
            local = settings.model_copy(
                update={"qdrant_url": None, "qdrant_path": Path(workdir), "collection": "fit"}
            )
            with KnowledgeStore.open(local, embedder=embedder, sparse=SparseEncoder()) as store:
                store.ensure_collection()
                report = ingest_paths(
                    [corpus],
                    store,
                    tenant=FIT_TENANT,
                    max_chars=settings.chunk_max_chars,
                    limits=InputLimits.from_settings(settings),
                )
                if report.errors or not report.docs:
                    raise InputError(
                        f"{corpus}: no readable documents ({'; '.join(report.errors[:3])})"
                    )
                examples += judge_examples(
                    questions,
                    store,
                    reader,
                    tenant=FIT_TENANT,
                    k=settings.top_k,
                    mode=settings.search_mode,
                )
    return examples


def fit_judge(
    examples: Sequence[JudgeExample], *, embedder: str, trained_on: Sequence[str]
) -> tuple[LinearHead, LinearHead, TurnRows]:
    """(turn head, chunk head, the turn head's training rows) fitted on `examples`."""
    examples = [e for e in examples if e.kind in ANSWER_KINDS]
    if not examples:
        raise InputError(
            "no judge examples: the task files hold no answerable or unanswerable task"
        )
    rows = TurnRows.of(examples)
    turn = fit_turn(rows, embedder=embedder, trained_on=trained_on)
    with_chunks = [e for e in examples if len(e.features)]
    chunk = fit_head(
        np.concatenate([e.features for e in with_chunks]),
        [JUDGE_LABELS[int(y)] for e in with_chunks for y in e.chunk_labels],
        [e.conversation for e in with_chunks for _ in e.chunk_labels],
        kind="judge",
        labels=JUDGE_LABELS,
        inputs=FEATURES,
        embedder=embedder,
        trained_on=trained_on,
        rule=best_f1,
    )
    return turn, chunk, rows


def fit_turn(rows: TurnRows, *, embedder: str, trained_on: Sequence[str]) -> LinearHead:
    """The turn head (does the search answer?), calibrated, with its two thresholds (set on
    the logged rows when there are `MIN_LOGGED_PER_LABEL` of each label)."""
    logged = rows.logged
    per_label = min(np.sum(logged & rows.answers), np.sum(logged & ~rows.answers))
    return fit_head(
        rows.rows,
        [JUDGE_LABELS[int(answers)] for answers in rows.answers],
        list(rows.groups),
        kind="judge",
        labels=JUDGE_LABELS,
        inputs=TURN_FEATURES,
        embedder=embedder,
        trained_on=trained_on,
        rule=recall_floor(MIN_ANSWERED),
        calibrate=True,
        confident_rule=false_alarm_ceiling(MAX_CONFIDENT_WRONG),
        sample_weight=rows.weights,
        rule_on=logged if per_label >= MIN_LOGGED_PER_LABEL else None,
    )


def fit_clarify(
    examples: Sequence[JudgeExample], embedder: Embedder, *, trained_on: Sequence[str]
) -> LinearHead | None:
    """The clarify head: UNDERSPECIFIED tasks against every other task's own search; None when
    the task files hold no UNDERSPECIFIED task (the judge then never clarifies)."""
    examples = [e for e in examples if e.kind in CLARIFY_KINDS]
    if not any(e.kind == "underspecified" for e in examples):
        return None
    searched = np.array([search_row(e.features, e.spread) for e in examples])
    rows = clarify_rows(
        embedder, [e.question for e in examples], [e.context for e in examples], searched
    )
    return fit_head(
        rows,
        [CLARIFY_LABELS[e.kind == "underspecified"] for e in examples],
        [e.conversation for e in examples],
        kind="judge",
        labels=CLARIFY_LABELS,
        inputs=clarify_inputs(embedder.dim),
        embedder=embedder.name,
        trained_on=trained_on,
        rule=false_alarm_ceiling(MAX_CLARIFIED),
        regularisation=CLARIFY_REGULARISATION,
    )


def save_judge(
    turn: LinearHead,
    chunk: LinearHead,
    folder: Path,
    clarify: LinearHead | None = None,
    rows: TurnRows | None = None,
) -> None:
    turn.save(folder / TURN_HEAD)
    chunk.save(folder / CHUNK_HEAD)
    if clarify is not None:
        clarify.save(folder / CLARIFY_HEAD)
    if rows is not None:
        rows.save(folder / TURN_HEAD)


def collect_router_examples(
    tasks: Sequence[Path],
    clinc: Path | None,
    banking: Path | None,
    *,
    hold_out: Fold | None = None,
) -> list[RouterExample]:
    examples: list[RouterExample] = []
    for path in tasks:
        examples += task_examples(load_tasks(path, hold_out))
    if clinc is not None:
        examples += clinc_examples(clinc)
    if banking is not None:
        examples += banking_examples(read_banking77(banking))
    return examples


def fit_router(
    examples: Sequence[RouterExample], embedder: Embedder, *, trained_on: Sequence[str]
) -> LinearHead:
    labels = [label for label in ROUTER_LABELS if any(e.label == label for e in examples)]
    if "search" not in labels or len(labels) < 2:
        raise InputError(f"the router needs `search` and another label; the data has {labels}")
    rows = router_rows(embedder, [e.text for e in examples], [e.context for e in examples])
    from_tasks = np.array([e.origin == "tasks" for e in examples])
    return fit_head(
        rows,
        [e.label for e in examples],
        [e.group for e in examples],
        kind="router",
        labels=labels,
        inputs=router_inputs(embedder.dim),
        embedder=embedder.name,
        trained_on=trained_on,
        rule=search_margin(labels, KEEP_SEARCHED, from_tasks),
    )


def fit_small_talk(
    rows: Sequence[tuple[str, str]], embedder: Embedder, *, trained_on: Sequence[str]
) -> LinearHead:
    """Which small talk a message is, from its embedding ((text, intent) rows)."""
    texts = [text for text, _ in rows]
    intents = sorted({intent for _, intent in rows})
    if len(intents) < 2:
        raise InputError(f"the small-talk head needs two intents or more; the data has {intents}")
    return fit_head(
        embedder.embed_documents(texts),
        [intent for _, intent in rows],
        texts,
        kind="small_talk",
        labels=intents,
        inputs=[f"embedding_{i}" for i in range(embedder.dim)],
        embedder=embedder.name,
        trained_on=trained_on,
        rule=most_likely,
    )

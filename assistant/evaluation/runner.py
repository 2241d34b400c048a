"""One evaluation run: read the data, set up what the suite needs, run it, fill in `RunInfo`."""

from __future__ import annotations

import shlex
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import torch
from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field
from rich.progress import Progress

from assistant.errors import InputError
from assistant.evaluation.answers import (
    CLOSED_BOOK,
    TURN_VARIANTS,
    Answerer,
    closed_book_answerer,
    evaluate_answers,
    rag_answerer,
)
from assistant.evaluation.classification import (
    Classifier,
    baseline_classifier,
    engine_classifier,
    evaluate_classification,
    llm_classifier,
)
from assistant.evaluation.datasets import Fold, load_classification, load_support_qa, sample
from assistant.evaluation.index import (
    check_corpus_choice,
    ingest_corpus,
    missing_gold,
    run_settings,
)
from assistant.evaluation.results import (
    AnswersResult,
    AnyResult,
    ClassificationResult,
    RetrievalResult,
    RunInfo,
    Suite,
)
from assistant.evaluation.retrieval import evaluate_retrieval
from assistant.knowledge.embedder import open_embedder
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.gateway import build_chat_model
from assistant.schemas import Task
from assistant.service import Assistant, open_store
from assistant.settings import Backend, SearchMode, Settings

# The settings that change a suite's numbers, recorded with every run.
RECORDED_SETTINGS = (
    "backend",
    "model_name",
    "model_path",
    "embedder",
    "search_mode",
    "top_k",
    "chunk_max_chars",
    "answer_mode",
    "answer_sentences",
    "answer_words",
    "router",
    "judge",
    "clarify",
    "heads_dir",
    "judge_dir",
    "store_engine",
    "decision_margin",
    "min_relevance",
    "max_rewrites",
    "no_answer_action",
    "temperature",
    "max_new_tokens",
)


class EvalOptions(BaseModel):
    """What `assistant eval` was asked to do."""

    suite: Suite
    data: list[Path] = Field(min_length=1)
    out: Path
    limit: int | None = Field(None, ge=1)
    seed: int = 0
    fold: Fold | None = None
    variants: list[str] = Field(min_length=1)
    corpus: Path | None = None
    use_index: bool = False
    judge_dir: Path | None = None
    """The candidate judge the `candidate-judge` variant reads (answers)."""

    def command(self) -> str:
        """The command line that repeats this run (options in a fixed order)."""
        args = ["assistant", "eval", self.suite]
        for path in self.data:
            args += ["--data", str(path)]
        if self.corpus is not None:
            args += ["--corpus", str(self.corpus)]
        if self.use_index:
            args.append("--use-index")
        if self.judge_dir is not None:
            args += ["--judge-dir", str(self.judge_dir)]
        if self.limit is not None:
            args += ["--limit", str(self.limit)]
        if self.fold is not None:
            args += ["--fold", str(self.fold)]
        args += ["--seed", str(self.seed), "--compare", ",".join(self.variants)]
        args += ["--out", str(self.out)]
        return shlex.join(args)


def run_evaluation(
    options: EvalOptions, settings: Settings, *, workdir: Path, progress: Progress
) -> AnyResult:
    """Run the suite `options` names; temporary files (a fresh index, threads) go to `workdir`."""
    started = time.perf_counter()
    info = RunInfo(
        suite=options.suite,
        command=options.command(),
        data=[str(p) for p in options.data],
        corpus=str(options.corpus) if options.corpus else None,
        use_index=options.use_index,
        limit=options.limit,
        seed=options.seed,
        variants=options.variants,
        examples=0,
        settings={
            name: str(getattr(settings, name))
            for name in RECORDED_SETTINGS
            if getattr(settings, name, None) is not None
        },
        started_at=datetime.now(UTC),
    )
    result: AnyResult
    if options.suite == "retrieval":
        result = _retrieval(options, settings, info, workdir, progress)
    elif options.suite == "answers":
        result = _answers(options, settings, info, workdir, progress)
    else:
        result = _classification(options, settings, info, progress)
    result.run.seconds = round(time.perf_counter() - started, 1)
    return result


def _one_data_file(options: EvalOptions) -> Path:
    if len(options.data) != 1:
        raise InputError(f"the {options.suite} suite reads one --data file")
    return options.data[0]


def _retrieval(
    options: EvalOptions, settings: Settings, info: RunInfo, workdir: Path, progress: Progress
) -> RetrievalResult:
    questions = load_support_qa(_one_data_file(options))
    check_corpus_choice(options.corpus, options.use_index)
    scorable = [q for q in questions if q.doc_ids]
    picked = sample(scorable, options.limit, options.seed)
    if len(scorable) < len(questions):
        info.notes.append(
            f"{len(questions) - len(scorable)} of {len(questions)} questions have no gold "
            "documents (UNANSWERABLE, some UNDERSPECIFIED) and cannot be scored for retrieval."
        )
    info.notes.append(
        "The query is the previous user turn followed by the question; documents are ranked "
        "by their best chunk among the top 30."
    )
    info.examples = len(picked)
    config = run_settings(settings, workdir, use_index=options.use_index)
    chunks = None
    with open_store(config) as store:
        if options.corpus is not None:
            chunks = ingest_corpus(store, options.corpus, settings=config, progress=progress)
        _note_missing_gold(info, store, {d for q in picked for d in q.doc_ids}, config.tenant)
        rows, records = evaluate_retrieval(
            picked,
            store,
            tenant=config.tenant,
            modes=[cast(SearchMode, v) for v in options.variants],
            progress=progress,
        )
    return RetrievalResult(run=info, chunks=chunks, rows=rows, questions=records)


def _answers(
    options: EvalOptions, settings: Settings, info: RunInfo, workdir: Path, progress: Progress
) -> AnswersResult:
    questions = load_support_qa(_one_data_file(options), need_reference=True)
    if options.fold is not None:
        questions = [q for q in questions if options.fold.holds(q.conversation)]
        info.notes.append(
            f"Fold {options.fold}: {len(questions)} questions, the conversations that heads "
            f"fitted with `--hold-out {options.fold}` never saw."
        )
    rag = any(v != "no-rag" for v in options.variants)
    if rag:
        check_corpus_choice(options.corpus, options.use_index)
    picked = sample(questions, options.limit, options.seed)
    info.examples = len(picked)
    info.notes += [
        "Expected behaviour: ANSWERABLE/PARTIAL -> an answer; UNANSWERABLE -> decline or "
        "escalate; UNDERSPECIFIED -> a clarifying question (the graph's `clarify` step, "
        "outcome `clarify`).",
        "Citation validity: every [n] marker points at a chunk retrieved in the turn (a marker "
        "the assistant's own check removed counts as invalid). Precision: cited chunks whose "
        "document is gold. Recall: gold documents cited (ANSWERABLE/PARTIAL only).",
    ]
    _seed_torch(options.seed)
    config = run_settings(settings, workdir, use_index=options.use_index)
    answerers: dict[str, Answerer] = {}
    chunks = None
    assistant = Assistant.open(config) if rag else None
    try:
        model: BaseChatModel = assistant.model if assistant else build_chat_model(config)
        if assistant is not None:
            info.notes.append(
                "rag: each question is a turn on a new thread that holds its earlier turns; "
                "the graph searches with the previous user turn and the question."
            )
            if options.corpus is not None:
                chunks = ingest_corpus(
                    assistant.store, options.corpus, settings=config, progress=progress
                )
            gold = {d for q in picked for d in q.doc_ids}
            _note_missing_gold(info, assistant.store, gold, config.tenant)
        for variant in options.variants:
            if variant == "rag" and assistant is not None:
                # The settings' own choices on every question: no experiment
                # (ASSISTANT_EXPERIMENT) splits an offline run between its variants.
                answerers[variant] = rag_answerer(assistant.choosing({}))
            elif variant == "candidate-judge" and assistant is not None:
                answerers[variant] = rag_answerer(_with_judge(assistant, options.judge_dir))
            elif variant in TURN_VARIANTS and assistant is not None:
                # The same graph: a variant's choices go with each of its runs.
                answerers[variant] = rag_answerer(assistant.choosing(TURN_VARIANTS[variant]))
            elif variant == "no-rag":
                info.notes.append(
                    "no-rag never searches, so its answerable questions count as retrieval "
                    f"failures; its prompt: {CLOSED_BOOK!r}"
                )
                answerers[variant] = closed_book_answerer(model)
        rows, behaviour, examples = evaluate_answers(
            picked,
            answerers,
            progress=progress,
            fresh_start=assistant.store.embedder.forget if assistant is not None else None,
        )
    finally:
        if assistant is not None:
            assistant.close()
    return AnswersResult(run=info, chunks=chunks, rows=rows, behaviour=behaviour, examples=examples)


def _with_judge(assistant: Assistant, judge_dir: Path | None) -> Assistant:
    if judge_dir is None:
        raise InputError("the candidate-judge variant needs --judge-dir (a fit-judge --out folder)")
    return assistant.judged_by(judge_dir)


def _classification(
    options: EvalOptions, settings: Settings, info: RunInfo, progress: Progress
) -> ClassificationResult:
    task = cast(Task, options.suite)
    train, dev = load_classification(options.data, task)
    picked = sample(dev, options.limit, options.seed)
    info.examples = len(picked)
    info.notes.append(
        f"Scored on the dev hold-out ({len(dev)} examples, texts never trained on)"
        + (f", {len(picked)} drawn with seed {options.seed}." if len(picked) < len(dev) else ".")
    )
    _seed_torch(options.seed)
    models: dict[Backend, BaseChatModel] = {}
    classifiers: dict[str, Classifier] = {}
    for variant in options.variants:
        if variant == "baseline":
            if not train:
                raise InputError(
                    "the baseline variant needs training examples: give the BANKING77 file "
                    "(its train split fits the baseline), not a dev-only file"
                )
            embedder = open_embedder(settings)
            classifiers[variant] = baseline_classifier(embedder, task, train)
            continue
        if variant in ("classifier", "routed"):
            classifiers[variant] = _engine(variant, task, settings, models)
            continue
        backend = _backend(variant, settings)
        if backend not in models:
            models[backend] = _chat_model(settings, backend)
        adapter = None if variant == "base" else task
        classifiers[variant] = llm_classifier(models[backend], task, adapter)
    gold, variants = evaluate_classification(
        task,
        picked,
        classifiers,
        writes_json=lambda name: name not in ("baseline", "classifier", "routed"),
        progress=progress,
    )
    return ClassificationResult(
        suite=task,
        run=info,
        label_kind="category" if task == "triage" else "decision (escalate / no)",
        example_ids=[e.source for e in picked],
        gold=gold,
        variants=variants,
    )


def _engine(
    variant: str, task: Task, settings: Settings, models: dict[Backend, BaseChatModel]
) -> Classifier:
    """The classifier triage engine; `routed` sends its unsure readings to the adapter."""
    from assistant.triage.engines import adapter_triage, classifier_triage, load_classifier

    if task != "triage":
        raise InputError(f"the {variant} variant is a triage engine; the escalation suite has none")
    fallback = None
    if variant == "routed":
        if settings.backend not in models:
            models[settings.backend] = _chat_model(settings, settings.backend)
        fallback = adapter_triage(settings, models[settings.backend])
    return engine_classifier(classifier_triage(load_classifier(settings), settings, fallback))


def _backend(variant: str, settings: Settings) -> Backend:
    """`embedded` and `server` pin the backend; the other variants use the configured one."""
    if variant == "embedded":
        return "embedded"
    if variant == "server":
        return "openai"
    return settings.backend


def _chat_model(settings: Settings, backend: Backend) -> BaseChatModel:
    return build_chat_model(settings.model_copy(update={"backend": backend}))


def _note_missing_gold(info: RunInfo, store: KnowledgeStore, gold: set[str], tenant: str) -> None:
    missing = missing_gold(store, gold, tenant)
    if missing:
        info.notes.append(
            f"{len(missing)} of {len(gold)} gold documents are not in the index (e.g. "
            f"{missing[0]}): their questions cannot reach full recall."
        )


def _seed_torch(seed: int) -> None:
    """Greedy decoding (the default) needs no seed; sampling (ASSISTANT_TEMPERATURE > 0) does."""
    torch.manual_seed(seed)

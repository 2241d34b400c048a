"""The turn's behaviour on support dev conversations its judge never saw: cross-fitted by
conversation, with 95 % intervals, against the shipped judge (which saw them all) in the same
run.

    python benchmarks/judge_cross_fitted.py [--folds 5] [--data ../shared/data]

The judge examples of both task files (behaviour and support) are collected once, as
`assistant adapters fit-judge` collects them (each corpus searched whole over a fresh index).
For each fold I of K the turn, chunk and clarify heads are fitted without the conversations of
fold I (what `fit-judge --hold-out I/K` fits), and the questions of fold I are asked of the
assistant over the whole support corpus with that judge (`ASSISTANT_JUDGE_DIR`), as
`assistant eval answers --fold I/K` asks them. The router and the small-talk head are the
shipped ones (fitted with the support tasks in sample: on these questions they route to the
search almost always). The last row asks every question of the shipped judge.

Each rate is a share of the class's questions with its Wilson 95 % interval; citation precision
is over confidently answered questions, token F1 over every question, as in `eval answers`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from collections.abc import Collection, Sequence
from pathlib import Path

from rich.progress import Progress

from assistant.evaluation.answers import evaluate_answers, rag_answerer
from assistant.evaluation.datasets import Fold, load_support_qa
from assistant.evaluation.diagnosis import ANSWERED, NOT_ANSWERED
from assistant.evaluation.index import ingest_corpus
from assistant.evaluation.proportions import wilson
from assistant.evaluation.results import AnswerExample
from assistant.knowledge.embedder import open_embedder
from assistant.schemas import Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.training.behaviour_fit import (
    collect_judge_examples,
    fit_clarify,
    fit_judge,
    save_judge,
)

ANSWERABLE = ("ANSWERABLE", "PARTIAL")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="folder with the support and behaviour task and corpus files",
    )
    parser.add_argument("--folds", type=int, default=5)
    return parser.parse_args(argv)


def rate(
    examples: Sequence[AnswerExample], classes: Sequence[str], outcomes: Collection[str]
) -> str:
    picked = [e for e in examples if e.answerability in classes]
    hits = sum(e.outcome in outcomes for e in picked)
    interval = wilson(hits, len(picked))
    return f"{interval.value:.1%} [{interval.low:.0%}, {interval.high:.0%}] ({hits}/{len(picked)})"


def row(name: str, examples: Sequence[AnswerExample]) -> str:
    confident = [e for e in examples if e.outcome == Outcome.ANSWERED]
    precision = [e.citation_precision for e in confident if e.citation_precision is not None]
    return " | ".join(
        [
            f"| {name}",
            rate(examples, ANSWERABLE, ANSWERED),
            rate(examples, ANSWERABLE, [Outcome.ANSWERED]),
            rate(examples, ["UNANSWERABLE"], NOT_ANSWERED),
            rate(examples, ["UNANSWERABLE"], [Outcome.ANSWERED]),
            rate(examples, ["UNDERSPECIFIED"], [Outcome.CLARIFY]),
            f"{statistics.mean(precision):.3f}" if precision else "-",
            f"{statistics.mean(e.token_f1 for e in examples):.3f}",
            f"{statistics.mean(e.seconds for e in examples):.2f} |",
        ]
    )


def main() -> None:
    args = parse_args()
    data = args.data
    questions = load_support_qa(data / "support_qa_dev.jsonl", need_reference=True)
    with tempfile.TemporaryDirectory(prefix="judge-cross-fitted-") as tmp:
        root = Path(tmp)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=root / "data",
            qdrant_path=root / "qdrant",
            collection="eval",
        )
        embedder = open_embedder(settings)
        print("collecting the judge examples of both task files ...", flush=True)
        examples = collect_judge_examples(
            settings,
            embedder,
            [
                (data / "behaviour_tasks.jsonl", data / "behaviour_corpus.jsonl"),
                (data / "support_qa_dev.jsonl", data / "support_corpus.jsonl"),
            ],
        )
        trained_on = ["behaviour_tasks.jsonl", "support_qa_dev.jsonl"]
        scored: dict[str, list[AnswerExample]] = {"cross-fitted": [], "shipped (in sample)": []}
        with Assistant.open(settings) as assistant, Progress(transient=True) as progress:
            ingest_corpus(
                assistant.store, data / "support_corpus.jsonl", settings=settings, progress=progress
            )
            for index in range(1, args.folds + 1):
                fold = Fold(index=index, of=args.folds)
                train = [e for e in examples if not fold.holds(e.conversation)]
                turn, chunk, rows = fit_judge(train, embedder=embedder.name, trained_on=trained_on)
                clarify = fit_clarify(train, embedder, trained_on=trained_on)
                folder = root / f"judge-{index}"
                save_judge(turn, chunk, folder, clarify, rows)
                held = [q for q in questions if fold.holds(q.conversation)]
                judged = assistant.judged_by(folder)
                _, _, answers = evaluate_answers(
                    held,
                    {"cross-fitted": rag_answerer(judged)},
                    progress=progress,
                    fresh_start=assistant.store.embedder.forget,
                )
                scored["cross-fitted"] += answers
                print(f"fold {fold}: {len(held)} questions", flush=True)
            _, _, answers = evaluate_answers(
                questions,
                {"shipped": rag_answerer(assistant)},
                progress=progress,
                fresh_start=assistant.store.embedder.forget,
            )
            scored["shipped (in sample)"] = answers
    print()
    print(
        "| judge | ANSWERABLE/PARTIAL answered | answered with confidence | UNANSWERABLE "
        "declined or handed over | UNANSWERABLE answered with confidence | UNDERSPECIFIED "
        "clarified | citation precision (confident) | token F1 | s/question |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, answers in scored.items():
        print(row(name, answers))
    print()
    print(f"Command: `python benchmarks/judge_cross_fitted.py --folds {args.folds}`")


if __name__ == "__main__":
    main()

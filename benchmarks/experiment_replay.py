"""An A/B experiment replayed: the support dev conversations as live traffic split between two
variants of the turn, ratings simulated from their gold labels, and `assistant report`'s verdict
set beside the offline evaluation's on the same questions.

    python benchmarks/experiment_replay.py [--n 131] [--docs 100] [--rated 1.0]

The index is built in a temporary folder (the gold passages of the questions and --docs other
passages of the support corpus). One `Assistant` with an experiment file (`fitted-judge`: the
fitted judge, `cosine-gate`: the chunk-cosine gate; weights 1:1) takes each conversation's last
question as a turn on the thread `replay-<qid>`, its earlier turns written into the thread
first, as `assistant eval answers` does. The simulated customer rates a share --rated of the
turns (drawn with a fixed seed): up when the turn ended as its answerability class should
(answer an answerable question, decline or hand over an unanswerable one, ask about an
underspecified one), down otherwise, through `Assistant.rate` (what `POST /v1/feedback`
calls). The report reads the interaction log the turns wrote (`--keep-log FILE` keeps it, for
`assistant report --log FILE` to print in full).

The offline evaluation then runs every question through both variants (`assistant eval
answers --compare rag,cosine-gate`'s behaviour accuracy). The two verdicts agree when they
name the same better variant; the report also says whether its difference is significant yet
and how many more turns per arm it would take.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rich.progress import Progress

from assistant.evaluation.answers import evaluate_answers, rag_answerer, seed_history
from assistant.evaluation.datasets import SupportQuestion, corpus_subset, load_support_qa
from assistant.evaluation.diagnosis import behaviour_ok
from assistant.evaluation.experiment_report import experiment_report
from assistant.ingestion.ingest import ingest_paths
from assistant.interaction_log import read_log
from assistant.service import Assistant
from assistant.settings import Settings

EXPERIMENT = """\
name: judge-replay
variants:
  - {name: fitted-judge, weight: 1, choices: {judge: fitted}}
  - {name: cosine-gate, weight: 1, choices: {judge: cosine}}
"""
OFFLINE_NAMES = {"fitted-judge": "rag", "cosine-gate": "cosine-gate"}


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="folder with support_corpus.jsonl and support_qa_dev.jsonl",
    )
    parser.add_argument("--n", type=int, default=131, help="dev conversations replayed")
    parser.add_argument("--docs", type=int, default=100, help="passages besides the gold ones")
    parser.add_argument("--rated", type=float, default=1.0, help="share of turns rated")
    parser.add_argument(
        "--keep-log", type=Path, help="copy the replay's interaction log here (for the README)"
    )
    return parser.parse_args(argv)


def replay(assistant: Assistant, questions: Sequence[SupportQuestion], rated: float) -> None:
    rng = random.Random(0)
    with Progress(transient=True) as progress:
        task = progress.add_task("live traffic", total=len(questions))
        for question in questions:
            thread = f"replay-{question.id}".replace("<::>", "-")
            seed_history(assistant, thread, question)
            answer = assistant.ask(question.question, thread_id=thread)
            if rng.random() < rated:
                ok = behaviour_ok(question.answerability, answer.outcome)
                assistant.rate(thread, "up" if ok else "down")
            progress.advance(task)


def main() -> None:
    args = parse_args()
    questions = load_support_qa(args.data / "support_qa_dev.jsonl")[: args.n]
    with tempfile.TemporaryDirectory(prefix="experiment-replay-") as tmp:
        root = Path(tmp)
        experiment = root / "experiment.yaml"
        experiment.write_text(EXPERIMENT, encoding="utf-8")
        corpus = root / "corpus.jsonl"
        corpus.write_text(
            "\n".join(corpus_subset(args.data / "support_corpus.jsonl", questions, args.docs))
            + "\n",
            encoding="utf-8",
        )
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=root / "data",
            qdrant_path=root / "qdrant",
            experiment=experiment,
            triage_engine="zero-shot",
        )
        with Assistant.open(settings) as assistant:
            ingest_paths(
                [corpus],
                assistant.store,
                tenant=settings.tenant,
                max_chars=settings.chunk_max_chars,
            )
            replay(assistant, questions, args.rated)
            rows = read_log(settings.interaction_log_path, strict=True).rows
            if args.keep_log is not None:
                shutil.copyfile(settings.interaction_log_path, args.keep_log)
            arms = {row.record.variant for row in rows}
            if arms != set(OFFLINE_NAMES):
                sys.exit(f"only {', '.join(sorted(map(str, arms)))} got traffic: raise --n")
            report = experiment_report(rows, control="fitted-judge")

            answerers = {
                "rag": rag_answerer(assistant.choosing({"judge": "fitted"})),
                "cosine-gate": rag_answerer(assistant.choosing({"judge": "cosine"})),
            }
            with Progress(transient=True) as progress:
                offline, _, _ = evaluate_answers(questions, answerers, progress=progress)

    accuracy = {row.variant: row.behaviour_accuracy for row in offline}
    print()
    print(
        "| variant | live turns | live thumbs-up rate [95 % CI] "
        "| offline behaviour accuracy (all questions) |"
    )
    print("|---|---:|---:|---:|")
    for arm in report.arms:
        up = arm.rates["thumbs_up"]
        offline_name = OFFLINE_NAMES[arm.variant]
        print(
            f"| {arm.variant} | {arm.turns} | {up.rate:.1%} [{up.low:.1%}, {up.high:.1%}] | "
            f"{accuracy[offline_name]:.1%} (`{offline_name}`) |"
        )
    live = next(c for c in report.comparisons if c.metric == "thumbs_up")
    offline_delta = accuracy["cosine-gate"] - accuracy["rag"]
    live_better = _better(live.delta)
    offline_better = _better(offline_delta)
    print()
    print(
        "Live verdict (cosine-gate vs fitted-judge, thumbs-up rate): "
        f"{live.delta:+.1%}, {live.verdict}; better: {live_better}."
    )
    print(
        "Offline verdict (cosine-gate vs rag, behaviour accuracy): "
        f"{offline_delta:+.1%}; better: {offline_better}."
    )
    print(f"Verdicts agree: {'yes' if live_better == offline_better else 'no'}.")
    print()
    print(
        f"Command: `python benchmarks/experiment_replay.py --n {args.n} --docs {args.docs} "
        f"--rated {args.rated}`"
    )


def _better(delta: float) -> str:
    if delta == 0:
        return "neither"
    return "cosine-gate" if delta > 0 else "fitted-judge"


if __name__ == "__main__":
    main()

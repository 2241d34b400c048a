"""The judge learns from a team's traffic: half of the support dev conversations stream through
the assistant as live turns, a reviewer labels the logged turns, `fit-judge --from-log`'s refit
runs, and the other half is scored with the judge before and after. Five random halves.

    python benchmarks/judge_from_traffic.py [--repeats 5] [--docs 100] [--log-weight 1,3,10]

The starting judge stands for the shipped one without the team's domain: it is fitted, with
the project's own `fit_judge`, on the behaviour task files only (the shipped judge also saw the
support dev tasks, so scoring it on them would be in sample). The index holds the support
questions' gold passages and --docs other passages of the support corpus.

Each repeat splits the conversations in two halves (seeded by the repeat). The traffic half is
asked as turns of one `Assistant` (each conversation's last question on a fresh thread holding
its earlier turns, as `assistant eval answers` does); the reviewer then labels each logged turn
`answerable` from its gold answerability (ANSWERABLE/PARTIAL true, UNANSWERABLE false;
UNDERSPECIFIED left unlabelled), as they would in the hard-cases file. The refit reads those
rows exactly as `assistant adapters fit-judge --from-log` does (`logged_judgements`: each
turn's query searched again, read against its question) and fits the turn head on the starting
rows plus the logged ones at each --log-weight.

Scored on the held-back half, two ways:
- the judge alone, on each question's own search (`judge_examples`: answerable = a gold passage
  was found; unanswerable): AUC, and the share of unanswerable searches stopped when the
  threshold lets through the same share of answerable ones as the starting judge's does (the
  "same answered rate" comparison);
- the whole turn: each held-back question asked of the assistant with the starting judge and
  with the refitted one (`ASSISTANT_JUDGE_DIR`); the outcomes by answerability class, at each
  head's own fitted thresholds.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.progress import Progress
from sklearn.metrics import roc_auc_score

from assistant.evaluation.answers import seed_history
from assistant.evaluation.datasets import SupportQuestion, corpus_subset, load_support_qa
from assistant.evaluation.diagnosis import ANSWERED, NOT_ANSWERED
from assistant.ingestion.ingest import ingest_paths
from assistant.interaction_log import LoggedRow, read_log
from assistant.knowledge.embedder import open_embedder
from assistant.schemas import Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.training.behaviour_fit import (
    collect_judge_examples,
    fit_clarify,
    fit_judge,
    fit_turn,
    save_judge,
)
from assistant.training.judge_data import TurnRows, judge_examples
from assistant.training.logged_judgements import logged_judgements
from assistant.turn.evidence import EvidenceReader, turn_features
from assistant.turn.heads import LinearHead


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data",
        help="folder with the support and behaviour task and corpus files",
    )
    parser.add_argument("--repeats", type=int, default=5, help="random halves")
    parser.add_argument("--docs", type=int, default=100, help="passages besides the gold ones")
    parser.add_argument(
        "--log-weight", default="1,3,10", help="weights of a logged turn, comma-separated"
    )
    return parser.parse_args(argv)


def in_traffic(conversation: str, repeat: int) -> bool:
    digest = hashlib.sha256(f"{repeat}:{conversation}".encode()).digest()
    return digest[0] % 2 == 0


@dataclass
class TurnCounts:
    """Outcomes of the whole turn on held-back questions, by answerability class."""

    answerable: int = 0
    answered: int = 0
    confident: int = 0
    unanswerable: int = 0
    stopped: int = 0
    confident_wrong: int = 0

    def add(self, answerability: str, outcome: Outcome) -> None:
        if answerability in ("ANSWERABLE", "PARTIAL"):
            self.answerable += 1
            self.answered += outcome in ANSWERED
            self.confident += outcome is Outcome.ANSWERED
        elif answerability == "UNANSWERABLE":
            self.unanswerable += 1
            self.stopped += outcome in NOT_ANSWERED
            self.confident_wrong += outcome is Outcome.ANSWERED


def ask_all(
    assistant: Assistant, questions: Sequence[SupportQuestion], prefix: str
) -> dict[str, Outcome]:
    """Each question as a turn on thread `prefix-<n>`; the outcome by thread."""
    outcomes = {}
    for n, question in enumerate(questions):
        thread = f"{prefix}-{n}"
        seed_history(assistant, thread, question)
        outcomes[thread] = assistant.ask(question.question, thread_id=thread).outcome
    return outcomes


def reviewed(
    rows: Sequence[LoggedRow], prefix: str, gold: dict[str, SupportQuestion]
) -> list[LoggedRow]:
    """The turn rows of threads `prefix-*`, each labelled from its question's answerability."""
    labelled = []
    for row in rows:
        thread = row.record.thread_id or ""
        name = thread.rsplit("/", 1)[-1]
        if row.record.kind != "turn" or name not in gold:
            continue
        answerability = gold[name].answerability
        if answerability == "UNDERSPECIFIED":
            continue
        label = answerability in ("ANSWERABLE", "PARTIAL")
        labelled.append(LoggedRow(row.source, row.record.model_copy(update={"answerable": label})))
    return labelled


def judge_scores(
    head: LinearHead, rows: np.ndarray, answers: np.ndarray, reference: float
) -> tuple[float, float, float]:
    """(AUC, unanswerable stopped at the head's threshold, unanswerable stopped when as many
    answerable searches pass as `reference` of them)."""
    p = head.probabilities(rows)[:, 1]
    positives = np.sort(p[answers])
    at = positives[min(int(np.floor((1 - reference) * len(positives))), len(positives) - 1)]
    return (
        float(roc_auc_score(answers, p)),
        float(np.mean(p[~answers] < head.threshold)),
        float(np.mean(p[~answers] < at)),
    )


def main() -> None:
    args = parse_args()
    weights = [float(w) for w in args.log_weight.split(",")]
    questions = load_support_qa(args.data / "support_qa_dev.jsonl")
    with tempfile.TemporaryDirectory(prefix="judge-from-traffic-") as tmp:
        root = Path(tmp)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=root / "data",
            qdrant_path=root / "qdrant",
            triage_engine="zero-shot",
        )
        embedder = open_embedder(settings)
        print("fitting the starting judge on the behaviour task files ...", flush=True)
        behaviour = collect_judge_examples(
            settings,
            embedder,
            [(args.data / "behaviour_tasks.jsonl", args.data / "behaviour_corpus.jsonl")],
        )
        trained_on = ["behaviour_tasks.jsonl", "behaviour_corpus.jsonl"]
        turn, chunk, base_rows = fit_judge(behaviour, embedder=embedder.name, trained_on=trained_on)
        clarify = fit_clarify(behaviour, embedder, trained_on=trained_on)
        start_dir = root / "judge-start"
        save_judge(turn, chunk, start_dir, clarify)
        corpus = root / "corpus.jsonl"
        subset = corpus_subset(args.data / "support_corpus.jsonl", questions, args.docs)
        corpus.write_text("\n".join(subset) + "\n", encoding="utf-8")
        live = settings.model_copy(update={"judge_dir": start_dir})
        with Assistant.open(live) as assistant:
            store = assistant.store
            ingest_paths([corpus], store, tenant=live.tenant, max_chars=live.chunk_max_chars)
            reader = EvidenceReader(store.embedder)
            search = {"tenant": live.tenant, "k": live.top_k, "mode": live.search_mode}
            own = [
                e
                for e in judge_examples(questions, store, reader, **search)  # type: ignore[arg-type]
                if e.kind in ("answerable", "unanswerable")
            ]
            results: dict[str, list[tuple[float, float, float]]] = {}
            turns: dict[str, list[TurnCounts]] = {}
            with Progress(transient=True) as progress:
                task = progress.add_task("repeats", total=args.repeats)
                for repeat in range(1, args.repeats + 1):
                    traffic = [q for q in questions if in_traffic(q.conversation, repeat)]
                    held = [q for q in questions if not in_traffic(q.conversation, repeat)]
                    prefix = f"traffic{repeat}"
                    ask_all(assistant, traffic, prefix)
                    gold = {f"{prefix}-{n}": q for n, q in enumerate(traffic)}
                    log = reviewed(read_log(live.interaction_log_path).rows, prefix, gold)
                    logged = logged_judgements(log, store, reader, **search)  # type: ignore[arg-type]
                    held_examples = [e for e in own if not in_traffic(e.conversation, repeat)]
                    rows = np.array([turn_features(e.features) for e in held_examples])
                    answers = np.array([e.answers for e in held_examples])
                    reference = float(
                        np.mean(turn.probabilities(rows[answers])[:, 1] >= turn.threshold)
                    )
                    heads = {"start": turn}
                    for weight in weights:
                        refit = fit_turn(
                            base_rows + TurnRows.of(logged.examples, weight=weight),
                            embedder=embedder.name,
                            trained_on=[*trained_on, "traffic"],
                        )
                        heads[f"refit w={weight:g}"] = refit
                    for name, head in heads.items():
                        results.setdefault(name, []).append(
                            judge_scores(head, rows, answers, reference)
                        )
                        folder = start_dir
                        if name != "start":
                            folder = root / f"judge-{repeat}-{name.replace(' ', '')}"
                            save_judge(head, chunk, folder, clarify)
                        candidate = assistant.judged_by(folder)
                        counts = TurnCounts()
                        outcomes = ask_all(candidate, held, f"held{repeat}{name}")
                        for question, outcome in zip(held, outcomes.values(), strict=True):
                            counts.add(question.answerability, outcome)
                        turns.setdefault(name, []).append(counts)
                    print(
                        f"repeat {repeat}: {len(traffic)} traffic turns, {logged.answered} "
                        f"labelled answered, {logged.not_answered} not; {len(held)} held back",
                        flush=True,
                    )
                    progress.advance(task)
    _print(results, turns, args)


def _mean(values: Sequence[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def _print(
    results: dict[str, list[tuple[float, float, float]]],
    turns: dict[str, list[TurnCounts]],
    args: argparse.Namespace,
) -> None:
    print()
    print(f"Judge alone, held-back half (mean ± sd over {args.repeats} repeats):")
    print()
    print(
        "| judge | AUC | unanswerable stopped (own threshold) "
        "| unanswerable stopped (same answered rate as start) |"
    )
    print("|---|---:|---:|---:|")
    for name, scores in results.items():
        auc, own, same = zip(*scores, strict=True)
        print(f"| {name} | {_mean(auc)} | {_mean(own)} | {_mean(same)} |")
    print()
    print("Whole turn, held-back half (summed over repeats):")
    print()
    print(
        "| judge | ANSWERABLE/PARTIAL answered | of them confident | UNANSWERABLE declined "
        "or handed over | UNANSWERABLE answered with confidence |"
    )
    print("|---|---:|---:|---:|---:|")
    for name, counts in turns.items():
        a = sum(c.answerable for c in counts)
        u = sum(c.unanswerable for c in counts)
        print(
            f"| {name} | {sum(c.answered for c in counts) / a:.1%} | "
            f"{sum(c.confident for c in counts) / a:.1%} | "
            f"{sum(c.stopped for c in counts) / u:.1%} | "
            f"{sum(c.confident_wrong for c in counts) / u:.1%} |"
        )
    print()
    print(
        f"Command: `python benchmarks/judge_from_traffic.py --repeats {args.repeats} "
        f"--docs {args.docs} --log-weight {args.log_weight}`"
    )


if __name__ == "__main__":
    main()

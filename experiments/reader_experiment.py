"""Does a cross-encoder reader rank the judge's searches better than its linear heads?

Go/no-go for the answerability reader (`adapters/reader.py`), cross-fitted by conversation:
the reader and the judge's heads are trained on the behaviour tasks and the support folds
other than `--fold`, and both score the support searches of `--fold` only. Printed and saved
(`--out`): turn-level AUC of the heads, of the reader's best chunk score, and of the two
together; the UNANSWERABLE and gold-removed searches stopped at the share of answerable
searches the heads' own threshold passes; seconds per training step and per scored pair.

    python experiments/reader_experiment.py --fold 1/5 --out out/reader/fold1.json
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from pathlib import Path

import numpy as np
import torch
from answer_reader import ReaderRecipe, reader_pairs, train_reader
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

from assistant.evaluation.datasets import Fold
from assistant.knowledge.embedder import load_embedder, resolve_model_path
from assistant.settings import Settings
from assistant.training.behaviour_fit import collect_judge_examples, fit_judge
from assistant.turn.evidence import turn_features

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SOURCES = {
    "behaviour": (DATA / "behaviour_tasks.jsonl", DATA / "behaviour_corpus.jsonl"),
    "support": (DATA / "support_qa_dev.jsonl", DATA / "support_corpus.jsonl"),
}


def examples(cache: Path) -> dict:
    """The judge examples of both task files (searched once, then read from `cache`)."""
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    settings = Settings()
    embedder = load_embedder(settings.embedder)
    found = {
        name: collect_judge_examples(settings, embedder, [pair]) for name, pair in SOURCES.items()
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(found))
    return found


def stopped_at(scores: np.ndarray, kinds: list[str], pass_rate: float) -> dict[str, float]:
    """The share of each negative kind stopped at the threshold that passes `pass_rate` of the
    answerable searches."""
    answerable = np.sort(scores[np.array(kinds) == "answerable"])
    threshold = answerable[int(np.floor((1 - pass_rate) * len(answerable)))]
    out = {"answerable_passed": float(np.mean(answerable >= threshold))}
    for kind in ("unanswerable", "gold_removed"):
        rows = scores[np.array(kinds) == kind]
        out[f"{kind}_stopped"] = float(np.mean(rows < threshold)) if len(rows) else float("nan")
    return out


def stacked_auc(columns: np.ndarray, y: np.ndarray, groups: list[str]) -> float:
    """AUC of a logistic regression over `columns`, cross-validated by conversation within the
    scored fold (its labels never fit the rows they score)."""
    oof = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=5).split(columns, y, np.asarray(groups)):
        model = LogisticRegression(C=1.0, class_weight="balanced").fit(columns[train], y[train])
        oof[test] = model.decision_function(columns[test])
    return float(roc_auc_score(y, oof))


def _best(scores: np.ndarray) -> float:
    return float(scores.max()) if len(scores) else -10.0


def support_conversations(found: dict) -> set[str]:
    return {e.conversation for e in found["support"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fold", default="1/5")
    parser.add_argument("--cache", type=Path, default=Path("out/reader/examples.pkl"))
    parser.add_argument("--out", type=Path, default=Path("out/reader/fold.json"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=192)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    args = parser.parse_args()
    torch.set_num_threads(2)
    fold = Fold.parse(args.fold)
    found = examples(args.cache)
    train = [e for group in found.values() for e in group if not fold.holds(e.conversation)]
    scored = [e for e in found["support"] if fold.holds(e.conversation)]
    y = np.array([e.answers for e in scored], dtype=int)
    kinds = [e.kind for e in scored]
    groups = [e.conversation for e in scored]

    turn, _, _ = fit_judge(train, embedder="packaged:all-MiniLM-L6-v2", trained_on=["experiment"])
    head = turn.probabilities(np.array([turn_features(e.features) for e in scored]))[:, 1]
    head_logit = np.log(head / (1 - head))
    pass_rate = float(np.mean(head[y == 1] >= turn.threshold))

    recipe = ReaderRecipe(
        epochs=args.epochs,
        trained_layers=args.layers,
        max_length=args.max_length,
        learning_rate=args.learning_rate,
    )
    pairs = reader_pairs(train)
    started = time.perf_counter()
    reader, per_step = train_reader(
        pairs, resolve_model_path("packaged:all-MiniLM-L6-v2"), recipe, log=print
    )
    train_seconds = time.perf_counter() - started
    started = time.perf_counter()
    chunk_scores = [reader.scores(e.question, e.context, e.chunk_texts) for e in scored]
    n_pairs = sum(len(s) for s in chunk_scores)
    per_pair = (time.perf_counter() - started) / max(n_pairs, 1)
    best = np.array([_best(s) for s in chunk_scores])

    # The naive integration: a turn head over the features and the reader's best score, fitted
    # on the training searches scored by the reader trained on them (in sample).
    seen = [e for e in train if e.conversation in support_conversations(found)]
    seen_best = np.array([_best(reader.scores(e.question, e.context, e.chunk_texts)) for e in seen])
    seen_y = np.array([e.answers for e in seen], dtype=int)
    with_reader = LogisticRegression(C=0.1, class_weight="balanced", max_iter=5000)
    seen_rows = np.c_[[turn_features(e.features) for e in seen], seen_best]
    mean, scale = seen_rows.mean(axis=0), seen_rows.std(axis=0) + 1e-9
    with_reader.fit((seen_rows - mean) / scale, seen_y)
    scored_rows = np.c_[[turn_features(e.features) for e in scored], best]
    naive = with_reader.decision_function((scored_rows - mean) / scale)

    # The heads' and the reader's scores on one scale, averaged without any label.
    z = (head_logit - head_logit.mean()) / head_logit.std() + (best - best.mean()) / best.std()
    chunk_y = np.concatenate([e.chunk_labels for e in scored]).astype(int)
    chunk_reader = np.concatenate(chunk_scores)
    result = {
        "fold": str(fold),
        "scored_searches": len(scored),
        "kinds": {k: kinds.count(k) for k in sorted(set(kinds))},
        "train_pairs": len(pairs),
        "train_positives": sum(p.answers for p in pairs),
        "recipe": recipe.model_dump(),
        "train_seconds": round(train_seconds, 1),
        "seconds_per_step": round(per_step, 3),
        "seconds_per_pair": round(per_pair, 4),
        "heads_threshold": turn.threshold,
        "auc": {
            "heads": float(roc_auc_score(y, head)),
            "reader_max": float(roc_auc_score(y, best)),
            "z_average": float(roc_auc_score(y, z)),
            "head_with_reader_in_sample_fit": float(roc_auc_score(y, naive)),
            "reader_max_on_its_training_support_searches": float(roc_auc_score(seen_y, seen_best)),
            "stacked_cv": stacked_auc(np.c_[head_logit, best], y, groups),
            "chunk_reader": float(roc_auc_score(chunk_y, chunk_reader)),
        },
        "at_heads_pass_rate": {
            "heads": stopped_at(head, kinds, pass_rate),
            "reader_max": stopped_at(best, kinds, pass_rate),
            "z_average": stopped_at(z, kinds, pass_rate),
            "head_with_reader_in_sample_fit": stopped_at(naive, kinds, pass_rate),
        },
        "per_search": [
            {"conversation": g, "kind": k, "answers": int(a), "head": float(h), "reader": float(b)}
            for g, k, a, h, b in zip(groups, kinds, y, head, best, strict=True)
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "per_search"}, indent=2))


if __name__ == "__main__":
    main()

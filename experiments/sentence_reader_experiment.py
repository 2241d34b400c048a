"""Does a reader trained on sentence-level labels add to the judge? (issue 32, item 2)

The reader is a small head over frozen MiniLM vectors the `EvidenceReader` already computes:
for a question q (the question alone and after the earlier turn) and one sentence s of a
retrieved chunk, pair features [q*s, |q-s|] (optionally q and s themselves) plus the two
cosines and word overlaps; labels from `sentence_pairs.label_pairs`. Its turn feature is the
best sentence score of the search.

Everything is cross-fitted by conversation with the judge's own folds
(`assistant.training.fitting.folds` over the turn head's examples, both task files): the reader
that scores a search never saw its conversation, and the turn head that uses the score is fitted
on scores that are themselves out of fold (nested: for outer fold k, readers trained without
folds k and j score fold j's training searches). Printed and saved (`--out`): the pairs'
counts, the reader's sentence-level AUC, per-fold and pooled turn AUC with and without the
reader column, and the support targets at the thresholds the fitting rules pick.

    python experiments/sentence_reader_experiment.py --out /tmp/sentence-reader/result.json
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sentence_pairs import Pair, Search, collect, label_pairs
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from assistant.knowledge.sparse import SparseEncoder
from assistant.training.behaviour_fit import MAX_CONFIDENT_WRONG, MIN_ANSWERED
from assistant.training.fitting import (
    REGULARISATION,
    false_alarm_ceiling,
    folds,
    platt_scaling,
    recall_floor,
)
from assistant.training.judge_data import ANSWER_KINDS
from assistant.turn.evidence import turn_features


def lexical(sparse: SparseEncoder, question: str, context: str, sentence: str) -> list[float]:
    """How much of the question the sentence holds, in words (stemmed, stop words out)."""
    asked = set(sparse.tokenize(question))
    new = asked - set(sparse.tokenize(context))
    held = set(sparse.tokenize(sentence))
    return [
        len(asked & held) / len(asked) if asked else 0.0,
        len(new & held) / len(new) if new else 1.0,
        float(np.log1p(len(held))),
    ]


def pair_rows(
    searches: Sequence[Search], items: Sequence[tuple[int, int, int]], mode: str
) -> np.ndarray:
    """One row per (search, chunk, sentence): the reader's input."""
    sparse = SparseEncoder()
    rows = []
    for i, c, s in items:
        search = searches[i]
        vector = search.vectors[c][s]
        q, qc = search.asked, search.in_context
        lex = lexical(
            sparse, search.example.question, search.example.context, search.sentences[c][s]
        )
        cosines = [float(vector @ q), float(vector @ qc)]
        parts: list[np.ndarray] = [np.asarray(cosines + lex)]
        if mode in ("interaction", "full"):
            parts += [q * vector, np.abs(q - vector)]
        if mode == "full":
            parts += [q, vector]
        rows.append(np.concatenate(parts))
    return np.asarray(rows, dtype=np.float32)


class Reader:
    """Standardise, then an L2 logistic regression (class-balanced) or a one-hidden-layer MLP
    (`hidden` units, L2 `1 / c`, early stopping on a tenth of the pairs)."""

    def __init__(self, c: float, hidden: int = 0) -> None:
        self.c = c
        self.hidden = hidden

    def fit(self, x: np.ndarray, y: np.ndarray) -> Reader:
        self.scaler = StandardScaler().fit(x)
        if self.hidden:
            self.model = MLPClassifier(
                (self.hidden,),
                alpha=1.0 / self.c,
                early_stopping=True,
                random_state=0,
                max_iter=200,
            )
        else:
            self.model = LogisticRegression(C=self.c, class_weight="balanced", max_iter=2000)
        self.model.fit(self.scaler.transform(x), y)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        z = self.scaler.transform(x)
        if self.hidden:
            p = np.clip(self.model.predict_proba(z)[:, 1], 1e-6, 1 - 1e-6)
            return np.asarray(np.log(p / (1 - p)))
        return np.asarray(self.model.decision_function(z))


def best_scores(
    searches: Sequence[Search],
    index: dict[tuple[int, int, int], int],
    scores: np.ndarray,
    which: Sequence[int],
) -> np.ndarray:
    """Each search's best sentence score (-10 for a search without sentences)."""
    out = []
    for i in which:
        keys = [
            (i, c, s) for c, group in enumerate(searches[i].sentences) for s in range(len(group))
        ]
        values = [scores[index[k]] for k in keys]
        out.append(max(values) if values else -10.0)
    return np.asarray(out)


def cross_encoder_scores(
    searches: Sequence[Search],
    items: Sequence[tuple[int, int, int]],
    labelled: Sequence[Pair],
    pair_ix: np.ndarray,
    pair_y: np.ndarray,
    pair_fold: np.ndarray,
    item_fold: np.ndarray,
    n_folds: int,
    args: argparse.Namespace,
) -> np.ndarray:
    """Out-of-fold scores of a cross-encoder (`answer_reader.py`: the packaged MiniLM, LoRA on
    its top layers, lower layers cached) trained on the sentence pairs of the other folds."""
    import torch
    from answer_reader import ReaderPair, ReaderRecipe, train_reader

    from assistant.knowledge.embedder import resolve_model_path

    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    gold = np.array([bool(searches[p.search].example.chunk_labels[p.chunk]) for p in labelled])
    recipe = ReaderRecipe(
        trained_layers=args.layers,
        max_length=args.max_length,
        context_words=12,
        epochs=args.epochs,
        learning_rate=1e-3,
    )
    base = resolve_model_path("packaged:all-MiniLM-L6-v2")
    scores = np.zeros(len(items))
    for k in range(n_folds):
        train = pair_fold != k
        positives = np.flatnonzero(train & (pair_y == 1))
        hard = np.flatnonzero(train & (pair_y == 0) & gold)
        other = np.flatnonzero(train & (pair_y == 0) & ~gold)
        room = max(int(args.negatives * len(positives)) - len(hard), 0)
        chosen = [*positives, *hard, *rng.choice(other, min(room, len(other)), replace=False)]
        pairs = []
        for n in chosen:
            p = labelled[n]
            e = searches[p.search].example
            sentence = searches[p.search].sentences[p.chunk][p.sentence]
            pairs.append(ReaderPair(p.conversation, e.question, e.context, sentence, p.answers))
        started = time.perf_counter()
        reader, per_step = train_reader(pairs, base, recipe)
        print(
            f"cross reader {k + 1}/{n_folds}: {len(pairs)} pairs, {per_step:.2f} s/step, "
            f"{time.perf_counter() - started:.0f} s",
            flush=True,
        )
        held = [n for n, (i, _, _) in enumerate(items) if item_fold[n] == k]
        by_search: dict[int, list[int]] = {}
        for n in held:
            by_search.setdefault(items[n][0], []).append(n)
        for i, ns in by_search.items():
            e = searches[i].example
            texts = [searches[i].sentences[c][s] for _, c, s in (items[n] for n in ns)]
            scores[ns] = reader.scores(e.question, e.context, texts)
        mine = pair_fold == k
        auc = roc_auc_score(pair_y[mine], scores[pair_ix[mine]])
        print(
            f"  scored fold {k + 1}: sentence AUC {auc:.3f} "
            f"({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/sentence-reader/searches.pkl"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/sentence-reader/result.json"))
    parser.add_argument("--overlap", type=float, default=0.7)
    parser.add_argument("--gap", type=float, default=0.2)
    parser.add_argument("--mode", choices=["small", "interaction", "full"], default="interaction")
    parser.add_argument("--c", type=float, default=0.01, help="the reader's L2 (C)")
    parser.add_argument("--reader", choices=["head", "cross"], default="head")
    parser.add_argument(
        "--negatives",
        type=float,
        default=5.0,
        help="cross: negatives kept per positive (every gold-chunk one first)",
    )
    parser.add_argument("--layers", type=int, default=2, help="cross: top layers with LoRA")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=96, help="cross: tokens a pair")
    parser.add_argument("--hidden", type=int, default=0, help="MLP hidden units (0: linear)")
    args = parser.parse_args()
    started = time.perf_counter()
    searches = collect(args.cache)
    pairs = label_pairs(searches, args.overlap, args.gap)

    # The turn head's examples and folds, as `fit_judge` and `fit_head` make them.
    turn_ix = [i for i, s in enumerate(searches) if s.example.kind in ANSWER_KINDS]
    groups = [searches[i].example.conversation for i in turn_ix]
    splits = folds(groups)
    fold_of = {}
    for k, (_, test) in enumerate(splits):
        for t in test:
            fold_of[groups[t]] = k
    n_folds = len(splits)

    # Every sentence of every turn search gets a row (scored), the labelled ones train.
    items = [
        (i, c, s)
        for i in turn_ix
        for c, group in enumerate(searches[i].sentences)
        for s in range(len(group))
    ]
    index = {key: n for n, key in enumerate(items)}
    rows = pair_rows(searches, items, args.mode)
    labelled = [p for p in pairs if (p.search, p.chunk, p.sentence) in index]
    pair_ix = np.array([index[(p.search, p.chunk, p.sentence)] for p in labelled])
    pair_y = np.array([p.answers for p in labelled], dtype=int)
    pair_fold = np.array([fold_of[p.conversation] for p in labelled])
    item_fold = np.array([fold_of[searches[i].example.conversation] for i, _, _ in items])
    print(
        f"{len(items)} sentences, {len(labelled)} labelled pairs, {pair_y.sum()} answer "
        f"({time.perf_counter() - started:.0f} s)",
        flush=True,
    )

    def reader_without(excluded: set[int]) -> Reader:
        keep = ~np.isin(pair_fold, list(excluded))
        return Reader(args.c, args.hidden).fit(rows[pair_ix[keep]], pair_y[keep])

    if args.reader == "cross":
        outer_scores = cross_encoder_scores(
            searches, items, labelled, pair_ix, pair_y, pair_fold, item_fold, n_folds, args
        )
    # Outer: reader without fold k scores fold k (the sentence AUC and the test column).
    else:
        outer_scores = np.zeros(len(items))
    for k in range(n_folds if args.reader == "head" else 0):
        reader = reader_without({k})
        outer_scores[item_fold == k] = reader.score(rows[item_fold == k])
        print(f"outer reader {k + 1}/{n_folds} ({time.perf_counter() - started:.0f} s)", flush=True)
    # Inner: readers without folds k and j score fold j, for the head of outer fold k.
    inner_scores = {}
    for k in range(n_folds if args.reader == "head" else 0):
        for j in range(n_folds):
            if j != k:
                reader = reader_without({k, j})
                inner_scores[(k, j)] = reader.score(rows[item_fold == j])
        print(f"inner readers of fold {k + 1} ({time.perf_counter() - started:.0f} s)", flush=True)

    base = np.array([turn_features(searches[i].example.features) for i in turn_ix])
    y = np.array([searches[i].example.answers for i in turn_ix], dtype=int)
    search_fold = np.array([fold_of[g] for g in groups])
    outer_best = best_scores(searches, index, outer_scores, turn_ix)

    def inner_best(k: int) -> np.ndarray:
        """Fold k's training searches' best scores, each from a reader that never saw it."""
        if args.reader == "cross":
            # Not nested (five cross-encoders are what the CPU allows): the head's training
            # column comes from readers that saw fold k, which can only flatter the reader.
            return outer_best
        column = np.zeros(len(turn_ix))
        for j in range(n_folds):
            if j == k:
                continue
            fold_items = np.flatnonzero(item_fold == j)
            scores = np.zeros(len(items))
            scores[fold_items] = inner_scores[(k, j)]
            which = [turn_ix[t] for t in np.flatnonzero(search_fold == j)]
            column[search_fold == j] = best_scores(searches, index, scores, which)
        return column

    oof = {"heads": np.zeros(len(y)), "heads+reader": np.zeros(len(y))}
    for k, (train, test) in enumerate(splits):
        inner = inner_best(k)
        for name in oof:
            x = base if name == "heads" else np.c_[base, inner]
            xt = base if name == "heads" else np.c_[base, outer_best]
            scaler = StandardScaler().fit(x[train])
            model = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=5000)
            model.fit(scaler.transform(x[train]), y[train])
            oof[name][test] = model.predict_proba(scaler.transform(xt[test]))[:, 1]

    kinds = np.array([searches[i].example.kind for i in turn_ix])
    support = np.array([searches[i].source == "support" for i in turn_ix])
    result: dict = {
        "overlap": args.overlap,
        "gap": args.gap,
        "reader": args.reader,
        "mode": args.mode,
        "c": args.c,
        "hidden": args.hidden,
        "searches": len(turn_ix),
        "sentences": len(items),
        "labelled_pairs": len(labelled),
        "answering_pairs": int(pair_y.sum()),
        "sentence_auc": float(roc_auc_score(pair_y, outer_scores[pair_ix])),
    }
    gold_chunk = np.array(
        [bool(searches[p.search].example.chunk_labels[p.chunk]) for p in labelled]
    )
    result["sentence_auc_within_gold_chunks"] = float(
        roc_auc_score(pair_y[gold_chunk], outer_scores[pair_ix][gold_chunk])
    )
    cos = rows[:, 0]
    result["sentence_auc_cosine"] = float(roc_auc_score(pair_y, cos[pair_ix]))
    result["sentence_auc_cosine_within_gold_chunks"] = float(
        roc_auc_score(pair_y[gold_chunk], cos[pair_ix][gold_chunk])
    )
    result["reader_best_turn_auc"] = float(roc_auc_score(y, outer_best))
    for name, p in oof.items():
        calibrated = platt_scaling(p, y).apply(p)
        two = np.stack([1 - calibrated, calibrated], axis=1)
        answer_at, _ = recall_floor(MIN_ANSWERED)(two, y)
        confident_at = max(false_alarm_ceiling(MAX_CONFIDENT_WRONG)(two, y)[0], answer_at)
        un = support & (kinds == "unanswerable")
        ans = support & (kinds == "answerable")
        result[name] = {
            "turn_auc": float(roc_auc_score(y, p)),
            "turn_auc_support": float(roc_auc_score(y[support], p[support])),
            "per_fold_auc": [
                float(roc_auc_score(y[search_fold == k], p[search_fold == k]))
                for k in range(n_folds)
            ],
            "answer_at": answer_at,
            "confident_at": confident_at,
            "support_unanswerable": int(un.sum()),
            "support_unanswerable_confident": float(np.mean(calibrated[un] >= confident_at)),
            "support_unanswerable_declined": float(np.mean(calibrated[un] < answer_at)),
            "support_unanswerable_hedged": float(
                np.mean((calibrated[un] >= answer_at) & (calibrated[un] < confident_at))
            ),
            "support_answerable": int(ans.sum()),
            "support_answerable_answered": float(np.mean(calibrated[ans] >= answer_at)),
            "support_answerable_confident": float(np.mean(calibrated[ans] >= confident_at)),
        }
    # The AUC difference's spread: a bootstrap over conversations.
    rng = np.random.default_rng(0)
    conversations = np.array(sorted(set(groups)))
    by_conv = {g: np.flatnonzero(np.array(groups) == g) for g in conversations}
    deltas = []
    for _ in range(500):
        pick = np.concatenate([by_conv[g] for g in rng.choice(conversations, len(conversations))])
        if len(set(y[pick])) < 2:
            continue
        deltas.append(
            roc_auc_score(y[pick], oof["heads+reader"][pick])
            - roc_auc_score(y[pick], oof["heads"][pick])
        )
    result["auc_delta_bootstrap"] = {
        "mean": float(np.mean(deltas)),
        "p05": float(np.percentile(deltas, 5)),
        "p95": float(np.percentile(deltas, 95)),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

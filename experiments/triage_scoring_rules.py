"""Which scoring rule should zero-shot triage use? Candidate rules on the support policy's
labelled dev half (benchmarks/data/support_triage_dev.jsonl); the shipped rule is `max`.

    python experiments/triage_scoring_rules.py [--half dev]
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assistant.knowledge.embedder import load_embedder
from assistant.policy import OUT_OF_SCOPE, support_policy
from assistant.settings import Settings
from assistant.triage.zero_shot import category_phrases

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"
QUESTION = re.compile(
    r"^\s*(how|can|could|does|do|is|are|what|where|which|when|why|will|should)\b|\?\s*$", re.I
)
RANK = {"urgent": 3, "high": 2, "normal": 1, "low": 0}

Rule = Callable[[np.ndarray, str], np.ndarray]  # per-phrase cosines, text -> per-category score


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--half", default="dev")
    args = parser.parse_args()
    settings = Settings()
    embedder = load_embedder(settings.embedder)
    policy = support_policy()
    phrases = category_phrases(policy)
    labels = sorted({label for label, _ in phrases})
    owner = np.array([labels.index(label) for label, _ in phrases])
    is_desc = np.array([policy.categories[label].description.strip() == p for label, p in phrases])
    vectors = embedder.embed_documents([p for _, p in phrases])
    rows = [json.loads(x) for x in (DATA / f"support_triage_{args.half}.jsonl").open()]
    texts, gold = [r["text"] for r in rows], [r["category"] for r in rows]
    cos = embedder.embed_queries(texts) @ vectors.T
    centroids = np.stack([vectors[owner == i].mean(0) for i in range(len(labels))])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    cen = embedder.embed_queries(texts) @ centroids.T

    def per_cat(row: np.ndarray, agg: Callable[[np.ndarray], float]) -> np.ndarray:
        return np.array([agg(row[owner == i]) for i in range(len(labels))])

    def topk(k: int) -> Rule:
        return lambda row, _t: per_cat(row, lambda s: float(np.sort(s)[::-1][:k].mean()))

    def desc_weighted(w: float) -> Rule:
        def rule(row: np.ndarray, _t: str) -> np.ndarray:
            out = []
            for i in range(len(labels)):
                mine = owner == i
                d = row[mine & is_desc]
                e = row[mine & ~is_desc]
                if len(e) == 0 or len(d) == 0:
                    out.append(float(row[mine].max()))
                else:
                    out.append(w * float(d.max()) + (1 - w) * float(e.max()))
            return np.array(out)

        return rule

    def with_question_prior(base: Rule, bonus: float) -> Rule:
        how = labels.index("how_to")

        def rule(row: np.ndarray, text: str) -> np.ndarray:
            scores = base(row, text).copy()
            if QUESTION.search(text):
                scores[how] += bonus
            return scores

        return rule

    def index_of(t: str) -> int:
        return texts.index(t)

    rules: dict[str, Rule] = {
        "max (shipped)": lambda row, _t: per_cat(row, lambda s: float(s.max())),
        "top-2 mean": topk(2),
        "top-3 mean": topk(3),
        "centroid": lambda row, t: cen[index_of(t)],
        "max+centroid /2": lambda row, t: (
            (per_cat(row, lambda s: float(s.max())) + cen[index_of(t)]) / 2
        ),
        "desc 0.5 + best example 0.5": desc_weighted(0.5),
        "desc 0.3 + best example 0.7": desc_weighted(0.3),
    }
    for name in ("max (shipped)", "top-2 mean", "top-3 mean", "centroid"):
        for bonus in (0.03, 0.05, 0.08):
            rules[f"{name} + question prior {bonus}"] = with_question_prior(rules[name], bonus)

    human = np.array([policy.categories[c].needs_human for c in labels])
    prio = np.array([RANK[policy.categories[c].priority] for c in labels])
    print(f"{args.half}: {len(rows)} messages\n")
    print("| rule | accuracy | how_to | account_access | questions high/urgent |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for margin in (0.0, 0.02, 0.04):
        for name, rule in rules.items():
            predicted = []
            for row, text in zip(cos, texts, strict=True):
                scores = rule(row, text)
                nearest = float(row.max())
                order = np.argsort(-scores)
                best = int(order[0])
                # margin: a close runner-up of lower priority (or needing no person) wins
                for other in order[1:]:
                    if scores[best] - scores[other] > margin:
                        break
                    if prio[other] < prio[best] or (human[best] and not human[other]):
                        best = int(other)
                        break
                if (
                    human[best]
                    and row[owner == best].max() < settings.triage_zero_shot_human_min_similarity
                ):
                    masked = np.where(human, -9, scores)
                    best = int(masked.argmax())
                label = labels[best]
                if nearest < settings.triage_zero_shot_min_similarity:
                    label = OUT_OF_SCOPE
                predicted.append(label)
            acc = np.mean([p == g for p, g in zip(predicted, gold, strict=True)])
            per = {}
            for c in ("how_to", "account_access"):
                idx = [i for i, g in enumerate(gold) if g == c]
                per[c] = np.mean([predicted[i] == c for i in idx])
            qs = [i for i, g in enumerate(gold) if g in ("how_to", "feature_request")]
            high = np.mean([RANK[policy.categories[predicted[i]].priority] >= 2 for i in qs])
            tag = f"{name}, margin {margin}" if margin else name
            print(
                f"| {tag} | {acc:.3f} | {per['how_to']:.3f} | "
                f"{per['account_access']:.3f} | {high:.3f} |"
            )


if __name__ == "__main__":
    main()

"""Which scoring rule should zero-shot triage use? Candidate rules for the shipped support
policy, scored on the labelled dev half (benchmarks/data/support_triage_dev.jsonl); the rule
before was `nearest phrase`, the engine's now is `centroid` with the question gate at 0.4.

Every rule keeps the engine's two thresholds: out of scope when no phrase is within 0.25, and a
category that hands over only with a phrase within 0.4. On top, optionally:
- *question gate q*: for a message written as a question, a category of priority high or
  urgent only with a phrase within q;
- *margin m*: a category of lower priority within m of the winner wins instead (any message);
- *how-to bonus b*: a question's cosine to `how_to` gets +b (names a category: not shipped).

    python experiments/triage_scoring_rules.py [--half dev]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from assistant.knowledge.embedder import load_embedder
from assistant.policy import OUT_OF_SCOPE, support_policy
from assistant.settings import Settings
from assistant.triage.zero_shot import QUESTION, category_phrases

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data"
URGENCY = {"low": 0, "normal": 1, "high": 2, "urgent": 3}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--half", default="dev")
    args = parser.parse_args()
    settings = Settings()
    embedder = load_embedder(settings.embedder)
    policy = support_policy()
    phrases = category_phrases(policy)
    labels = list(dict.fromkeys(label for label, _ in phrases))
    owner = np.array([labels.index(label) for label, _ in phrases])
    is_description = np.array(
        [policy.categories[label].description.strip() == phrase for label, phrase in phrases]
    )
    vectors = embedder.embed_documents([phrase for _, phrase in phrases])
    centroids = np.stack([vectors[owner == i].mean(axis=0) for i in range(len(labels))])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    rows = [json.loads(x) for x in (DATA / f"support_triage_{args.half}.jsonl").open()]
    texts, gold = [r["text"] for r in rows], [r["category"] for r in rows]
    queries = embedder.embed_queries(texts)
    to_phrases, to_centroids = queries @ vectors.T, queries @ centroids.T
    human = np.array([policy.categories[c].needs_human for c in labels])
    urgency = np.array([URGENCY[policy.categories[c].priority] for c in labels])
    how_to = labels.index("how_to")

    def per_category(row: np.ndarray, agg: Callable[[np.ndarray], float]) -> np.ndarray:
        return np.array([agg(row[owner == i]) for i in range(len(labels))])

    def top(k: int) -> Callable[[int], np.ndarray]:
        return lambda i: per_category(to_phrases[i], lambda s: float(np.sort(s)[::-1][:k].mean()))

    def description_and_example(w: float) -> Callable[[int], np.ndarray]:
        def score(i: int) -> np.ndarray:
            row, out = to_phrases[i], []
            for c in range(len(labels)):
                own = owner == c
                described, examples = row[own & is_description], row[own & ~is_description]
                if len(described) and len(examples):
                    out.append(w * float(described.max()) + (1 - w) * float(examples.max()))
                else:
                    out.append(float(row[own].max()))
            return np.array(out)

        return score

    rules: dict[str, Callable[[int], np.ndarray]] = {
        "nearest phrase": top(1),
        "top-2 mean": top(2),
        "top-3 mean": top(3),
        "centroid": lambda i: to_centroids[i],
        "description 0.5 + best example 0.5": description_and_example(0.5),
    }

    def pick(i: int, scores: np.ndarray, gate: float, margin: float, bonus: float) -> str:
        nearest = per_category(to_phrases[i], lambda s: float(s.max()))
        question = QUESTION.search(texts[i]) is not None
        scores = scores.copy()
        if question:
            scores[how_to] += bonus
        allowed = ~(human & (nearest < settings.triage_zero_shot_human_min_similarity))
        if question:
            allowed &= ~((urgency >= URGENCY["high"]) & (nearest < gate))
        scores = np.where(allowed, scores, -9.0) if allowed.any() else scores
        order = np.argsort(-scores)
        best = int(order[0])
        for other in order[1:]:
            if scores[best] - scores[other] > margin:
                break
            if urgency[other] < urgency[best]:
                best = int(other)
                break
        if nearest.max() < settings.triage_zero_shot_min_similarity:
            return OUT_OF_SCOPE
        return labels[best]

    print(f"{args.half}: {len(rows)} messages\n")
    print("| rule | accuracy | how_to | account_access | how-to/feature at high or urgent |")
    print("| --- | ---: | ---: | ---: | ---: |")
    variants = [(-1.0, 0.0, 0.0), (0.4, 0.0, 0.0), (0.45, 0.0, 0.0), (-1.0, 0.05, 0.0)]
    variants += [(-1.0, 0.0, 0.05), (0.4, 0.0, 0.05)]
    for name, rule in rules.items():
        for gate, margin, bonus in variants:
            predicted = [pick(i, rule(i), gate, margin, bonus) for i in range(len(texts))]

            def recall(category: str, predicted: list[str] = predicted) -> float:
                hits = [p == g for p, g in zip(predicted, gold, strict=True) if g == category]
                return sum(hits) / len(hits)

            accuracy = np.mean([p == g for p, g in zip(predicted, gold, strict=True)])
            asked = [
                p
                for p, g in zip(predicted, gold, strict=True)
                if g in ("how_to", "feature_request")
            ]
            high = np.mean([URGENCY[policy.categories[p].priority] >= 2 for p in asked])
            extras = [
                f"question gate {gate}" if gate > -1 else "",
                f"margin {margin}" if margin else "",
                f"how-to bonus {bonus}" if bonus else "",
            ]
            tag = ", ".join([name, *[e for e in extras if e]])
            print(
                f"| {tag} | {accuracy:.3f} | {recall('how_to'):.3f} | "
                f"{recall('account_access'):.3f} | {high:.3f} |"
            )


if __name__ == "__main__":
    main()

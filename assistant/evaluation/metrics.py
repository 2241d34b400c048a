"""The metrics, as pure functions of predictions and gold labels.

Ranks are of documents, not chunks: a gold label names a document, and several chunks of one
document must not count as several hits. Text is tokenised by rouge-score's own tokenizer
(lower case, alphanumeric runs, no stemming), so token F1 and ROUGE-L see the same tokens and
nothing needs NLTK data at run time.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Collection, Iterable, Sequence

from rouge_score.rouge_scorer import RougeScorer
from rouge_score.tokenizers import DefaultTokenizer

from assistant.evaluation.results import ClassScore, ConfusionMatrix, RetrievalScores
from assistant.triage.scores import accuracy, macro_f1
from assistant.turn.citations import MARKER

__all__ = [
    "accuracy",
    "citation_precision",
    "citation_recall",
    "citations_valid",
    "confusion_matrix",
    "macro_f1",
    "mean",
    "ndcg_at_k",
    "per_class_scores",
    "percentile",
    "rank_documents",
    "recall_at_k",
    "reciprocal_rank",
    "retrieval_scores",
    "rouge_l",
    "text_tokens",
    "token_f1",
]

# --- retrieval --------------------------------------------------------------------------------


def rank_documents(doc_ids: Iterable[str]) -> list[str]:
    """Chunk hits (best first) -> documents in the order of their best chunk."""
    return list(dict.fromkeys(doc_ids))


def recall_at_k(ranked: Sequence[str], gold: Collection[str], k: int) -> float:
    """Share of the gold documents among the first `k` ranked ones (0 when there is no gold)."""
    if not gold:
        return 0.0
    return sum(doc in gold for doc in ranked[:k]) / len(gold)


def reciprocal_rank(ranked: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    """1 / rank of the first gold document within the first `k`; 0 if none is there."""
    return next((1 / rank for rank, doc in enumerate(ranked[:k], 1) if doc in gold), 0.0)


def ndcg_at_k(ranked: Sequence[str], gold: Collection[str], k: int = 10) -> float:
    """Binary-relevance nDCG@k: 1.0 when the gold documents fill the first places."""
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(len(gold), k) + 1))
    if not ideal:
        return 0.0
    gain = sum(1 / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], 1) if doc in gold)
    return gain / ideal


def retrieval_scores(ranked: Sequence[str], gold: Collection[str]) -> RetrievalScores:
    """Recall@1/5/10, MRR@10 and nDCG@10 of one ranked document list."""
    return RetrievalScores(
        recall_at_1=recall_at_k(ranked, gold, 1),
        recall_at_5=recall_at_k(ranked, gold, 5),
        recall_at_10=recall_at_k(ranked, gold, 10),
        mrr_at_10=reciprocal_rank(ranked, gold, 10),
        ndcg_at_10=ndcg_at_k(ranked, gold, 10),
    )


# --- answer text ------------------------------------------------------------------------------


def text_tokens(text: str) -> list[str]:
    """The tokens an answer is scored on; `[n]` citation markers are not words of the answer."""
    return list(DefaultTokenizer(use_stemmer=False).tokenize(MARKER.sub(" ", text)))


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style bag-of-tokens F1 (1.0 when both are empty, 0.0 when only one is)."""
    predicted, gold = Counter(text_tokens(prediction)), Counter(text_tokens(reference))
    if not predicted or not gold:
        return float(predicted == gold)
    common = sum((predicted & gold).values())
    if not common:
        return 0.0
    precision, recall = common / sum(predicted.values()), common / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (longest common subsequence), by the `rouge-score` package."""
    # rouge-score tokenises itself; markers are removed first, as for token F1.
    scorer = RougeScorer(["rougeL"], use_stemmer=False)
    score = scorer.score(MARKER.sub(" ", reference), MARKER.sub(" ", prediction))["rougeL"]
    return float(score.fmeasure)


# --- citations --------------------------------------------------------------------------------


def citations_valid(
    markers: Sequence[int],
    cited_chunks: dict[int, str],
    retrieved_chunks: Collection[str],
    removed: int = 0,
) -> bool | None:
    """Whether every `[n]` marker points at a chunk retrieved this turn.

    `markers`: the numbers in the text; `cited_chunks`: marker -> chunk id it resolved to;
    `removed`: markers the assistant's own check already dropped (each was invalid). None when
    the answer has no marker at all: there is nothing to be right or wrong about.
    """
    if not markers and not removed:
        return None
    if removed:
        return False
    return all(cited_chunks.get(n) in retrieved_chunks for n in markers)


def citation_precision(cited_docs: Sequence[str], gold: Collection[str]) -> float | None:
    """Share of citations whose document is gold; None without citations or gold."""
    if not cited_docs or not gold:
        return None
    return sum(doc in gold for doc in cited_docs) / len(cited_docs)


def citation_recall(cited_docs: Collection[str], gold: Collection[str]) -> float | None:
    """Share of the gold documents cited at least once; None without gold."""
    if not gold:
        return None
    return len(set(gold) & set(cited_docs)) / len(set(gold))


# --- classification ---------------------------------------------------------------------------


def per_class_scores(gold: Sequence[str], predicted: Sequence[str]) -> list[ClassScore]:
    """Precision, recall and F1 of every label in `gold` or `predicted`, sorted by label.

    Their F1 mean is `macro_f1` (which the adapters' evaluation reports).
    """
    pairs = list(zip(gold, predicted, strict=True))
    scores = []
    for label in sorted({*gold, *predicted}):
        tp = sum(g == label and p == label for g, p in pairs)
        support = sum(g == label for g, _ in pairs)
        guessed = sum(p == label for _, p in pairs)
        precision = tp / guessed if guessed else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * tp / (support + guessed) if tp else 0.0
        scores.append(
            ClassScore(
                label=label,
                support=support,
                predicted=guessed,
                precision=precision,
                recall=recall,
                f1=f1,
            )
        )
    return scores


def confusion_matrix(gold: Sequence[str], predicted: Sequence[str]) -> ConfusionMatrix:
    """Counts of (gold, predicted) pairs over the labels that occur, sorted."""
    labels = sorted({*gold, *predicted})
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted, strict=True):
        counts[index[g]][index[p]] += 1
    return ConfusionMatrix(labels=labels, counts=counts)


# --- aggregation ------------------------------------------------------------------------------


def mean(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def percentile(values: Sequence[float], q: int) -> float:
    """The `q`-th percentile (inclusive method); 0 for fewer than two values."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]

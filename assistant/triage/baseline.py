"""The cheap baseline the adapters must beat: sentence embeddings + logistic regression.

Trained on the same train split the adapters see, scored on the same dev hold-out. For triage
it predicts the intent and takes priority and needs_human from the policy table (what a
classifier-plus-rules pipeline would ship); for escalation it predicts the yes/no decision.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from assistant.knowledge.embedder import Embedder
from assistant.policy import TriagePolicy
from assistant.schemas import TriageResult
from assistant.triage.examples import triage_result


class EmbeddingClassifier:
    """Logistic regression over normalised sentence embeddings of the input text."""

    def __init__(self, embedder: Embedder, *, c: float = 10.0, seed: int = 0) -> None:
        # scikit-learn takes a second or two to import: only a classifier being fitted needs it.
        from sklearn.linear_model import LogisticRegression

        self.embedder = embedder
        # C=10: the embeddings are unit vectors, so the default C=1 over-regularises 77 classes.
        self.classifier = LogisticRegression(C=c, max_iter=2000, random_state=seed)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> EmbeddingClassifier:
        """Fit on ``texts`` and their ``labels``; returns self."""
        self.classifier.fit(self.embedder.embed_documents(texts, batch_size=64), list(labels))
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The predicted label of each text."""
        if not texts:
            return []
        predicted = self.classifier.predict(self.embedder.embed_documents(texts, batch_size=64))
        return [str(label) for label in np.asarray(predicted)]


def triage_baseline(
    embedder: Embedder,
    train: Sequence[tuple[str, str]],
    dev_texts: Sequence[str],
    policy: TriagePolicy | None = None,
) -> list[TriageResult]:
    """Triage of ``dev_texts`` by a classifier fit on ``train`` (text, intent) pairs; priority
    and needs_human from ``policy`` (default: the shipped one)."""
    model = EmbeddingClassifier(embedder).fit([t for t, _ in train], [c for _, c in train])
    return [triage_result(intent, policy) for intent in model.predict(dev_texts)]


def escalation_baseline(
    embedder: Embedder, train: Sequence[tuple[str, bool]], dev_texts: Sequence[str]
) -> list[bool]:
    """Escalate or not for ``dev_texts`` by a classifier fit on ``train`` (text, escalate).

    Only the decision: a reason and a hand-off summary are beyond a classifier of this kind.
    """
    labels = ["yes" if escalate else "no" for _, escalate in train]
    model = EmbeddingClassifier(embedder).fit([t for t, _ in train], labels)
    return [label == "yes" for label in model.predict(dev_texts)]

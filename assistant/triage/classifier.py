"""The classifier triage engine: sentence embeddings + logistic regression over a team's
labelled tickets, priority and hand-over from its policy.

It grows from the evaluation baseline (``EmbeddingClassifier``): fitted on the train side of
the same hash split the adapters use, scored on the dev side, and saved as plain arrays
(``weights.npz``, no pickle) with a manifest (``classifier.json``: the embedder, the labels,
the policy, a hash of the data and the dev scores). Its confidence (the top class's
probability) lets a caller route an unsure reading elsewhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from assistant.errors import InputError
from assistant.knowledge.embedder import Embedder
from assistant.policy import TriagePolicy
from assistant.schemas import TriageResult
from assistant.triage.baseline import EmbeddingClassifier
from assistant.triage.examples import LabelledText, is_dev, triage_result
from assistant.triage.scores import macro_f1

WEIGHTS_FILE = "weights.npz"
MANIFEST_FILE = "classifier.json"


class DevScores(BaseModel):
    """The classifier's scores on the dev hold-out of its data (never fitted on)."""

    examples: int
    accuracy: float
    macro_f1: float


class ClassifierManifest(BaseModel):
    """What a saved classifier was fitted on and how well it did."""

    embedder: str = Field(description="The embedding model; reading needs the same one.")
    labels: list[str] = Field(description="The classes, in the order of the weight rows.")
    policy: TriagePolicy
    data: str = Field(description="Name of the labelled file.")
    data_sha256: str = Field(description="sha256 over the (text, label) rows, in order.")
    train_examples: int
    dev: DevScores | None = Field(description="None when the dev side of the split is empty.")
    c: float
    seed: int
    created: str = Field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


@dataclass(frozen=True)
class Reading:
    """One message's triage and the classifier's confidence in its category (0..1)."""

    result: TriageResult
    confidence: float


def rows_hash(rows: Sequence[LabelledText]) -> str:
    """sha256 over the rows' texts and labels: identifies the data a classifier saw."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.label}\t{row.text}\n".encode())
    return digest.hexdigest()


class TriageClassifier:
    """A fitted (or loaded) classifier; ``read`` triages texts in one batch."""

    def __init__(
        self,
        manifest: ClassifierManifest,
        coef: np.ndarray,
        intercept: np.ndarray,
        embedder: Embedder,
    ) -> None:
        self.manifest = manifest
        self.coef = coef
        self.intercept = intercept
        self.embedder = embedder

    @classmethod
    def fit(
        cls,
        rows: Sequence[LabelledText],
        policy: TriagePolicy,
        embedder: Embedder,
        *,
        data_name: str,
        c: float = 10.0,
        seed: int = 0,
    ) -> TriageClassifier:
        """Fit on the train side of ``rows`` (the adapters' split) and score the dev side."""
        train = [row for row in rows if not is_dev(row.text)]
        dev = [row for row in rows if is_dev(row.text)]
        if len({row.label for row in train}) < 2:
            raise InputError(f"{data_name}: fewer than two labels to learn on the train side")
        fitted = EmbeddingClassifier(embedder, c=c, seed=seed).fit(
            [row.text for row in train], [row.label for row in train]
        )
        model = fitted.classifier
        manifest = ClassifierManifest(
            embedder=embedder.name,
            labels=[str(label) for label in model.classes_],
            policy=policy,
            data=data_name,
            data_sha256=rows_hash(rows),
            train_examples=len(train),
            dev=None,
            c=c,
            seed=seed,
        )
        classifier = cls(manifest, model.coef_, model.intercept_, embedder)
        if dev:
            predicted = [r.result.category for r in classifier.read([row.text for row in dev])]
            gold = [row.label for row in dev]
            hits = sum(p == g for p, g in zip(predicted, gold, strict=True))
            manifest.dev = DevScores(
                examples=len(dev),
                accuracy=round(hits / len(dev), 4),
                macro_f1=round(macro_f1(gold, list(predicted)), 4),
            )
        return classifier

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Each text's probability of each label (rows: texts, columns: ``labels``)."""
        vectors = self.embedder.embed_documents(texts, batch_size=64)
        scores = vectors @ self.coef.T + self.intercept
        if self.coef.shape[0] == 1:
            # Two classes: scikit-learn keeps one row, the log-odds of the second class.
            second = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.stack([1.0 - second, second], axis=1)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))

    def read(self, texts: Sequence[str]) -> list[Reading]:
        """The triage of each text, priority and hand-over from the classifier's policy."""
        if not texts:
            return []
        probabilities = self.probabilities(texts)
        labels = self.manifest.labels
        policy = self.manifest.policy
        return [
            Reading(triage_result(labels[int(row.argmax())], policy), float(row.max()))
            for row in probabilities
        ]

    def save(self, folder: Path) -> None:
        """Write ``weights.npz`` and ``classifier.json`` into ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / WEIGHTS_FILE, coef=self.coef, intercept=self.intercept)
        (folder / MANIFEST_FILE).write_text(
            self.manifest.model_dump_json(indent=2) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path, embedder: Embedder) -> TriageClassifier:
        """The classifier saved in ``folder``; ``InputError`` if it is missing, unreadable or
        was fitted with another embedder than ``embedder``."""
        try:
            manifest = ClassifierManifest.model_validate_json(
                (folder / MANIFEST_FILE).read_text(encoding="utf-8")
            )
            with np.load(folder / WEIGHTS_FILE) as weights:
                coef, intercept = weights["coef"], weights["intercept"]
        except (OSError, KeyError, ValueError, ValidationError) as exc:
            raise InputError(
                f"{folder} holds no usable triage classifier ({exc}); fit one with "
                "`assistant adapters fit-classifier`"
            ) from None
        if manifest.embedder != embedder.name:
            raise InputError(
                f"{folder}: fitted on embeddings of {manifest.embedder!r}, but the embedder in "
                f"use is {embedder.name!r}; refit, or set ASSISTANT_EMBEDDER"
            )
        return cls(manifest, coef, intercept, embedder)

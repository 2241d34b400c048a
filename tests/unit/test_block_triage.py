"""The classifier engine for a Ray worker's block: the block's texts read in one batch give
each text the reading (and the routing of an unsure one) that reading it alone gives."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pytest

from assistant.policy import shipped_policy
from assistant.settings import Settings
from assistant.triage.classifier import ClassifierManifest, TriageClassifier
from assistant.triage.engines import classifier_block_triage, classifier_triage

LABELS = ["card_arrival", "exchange_rate", "lost_or_stolen_card"]


class HashEmbedder:
    """Four numbers per text from its hash; raises for a text containing "boom"."""

    name = "hash"

    def embed_documents(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        if any("boom" in text for text in texts):
            raise ValueError("cannot embed boom")
        digests = [hashlib.sha256(text.encode()).digest()[:4] for text in texts]
        return np.array([[b / 255 - 0.5 for b in digest] for digest in digests])


def classifier() -> TriageClassifier:
    manifest = ClassifierManifest(
        embedder="hash", labels=LABELS, policy=shipped_policy(), data="x", data_sha256="",
        train_examples=0, dev=None, c=1.0, seed=0,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    coef, intercept = rng.normal(size=(3, 4)), rng.normal(size=3)
    return TriageClassifier(manifest, coef, intercept, HashEmbedder())  # type: ignore[arg-type]


def test_a_block_read_in_one_batch_gives_each_text_its_reading_alone() -> None:
    settings = Settings(_env_file=None, triage_min_confidence=0.5)  # type: ignore[call-arg]
    model = classifier()
    texts = [f"ticket number {i}" for i in range(40)]
    alone = classifier_triage(model, settings)
    prepared = classifier_block_triage(model, settings)(texts)
    readings = [prepared(text) for text in texts]
    assert readings == [alone(text) for text in texts]
    assert any(r.needs_human for r in readings)  # the threshold routed some to a human
    assert len({r.category for r in readings}) > 1


def test_a_block_whose_batch_fails_reads_each_text_alone_so_only_the_bad_one_fails() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    model = classifier()
    prepared = classifier_block_triage(model, settings)(["fine", "boom"])
    assert prepared("fine") == classifier_triage(model, settings)("fine")
    with pytest.raises(ValueError, match="cannot embed boom"):
        prepared("boom")

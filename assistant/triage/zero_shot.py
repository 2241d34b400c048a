"""Zero-shot triage: the policy's own words as the classifier, before anyone labels a ticket.

Each category is described once in the policy (a one-line ``description`` and, optionally, a few
``examples`` of what customers write); a message takes the category whose description or example
is nearest by cosine. Below ``min_similarity`` nothing in the policy is close, and the message is
``out_of_scope`` when the policy has that category. A category without a description is read by
its name ("lost_or_stolen_card" -> "lost or stolen card"), so any policy works, BANKING77's too.

The threshold reads the policy only; the documents know the product better. A message the
turn then answers from the team's documents is in scope whatever its distance to the
descriptions ("How do I point the assistant at a vLLM server?" is far from every generic
description): ``read(..., in_scope=True)`` gives its nearest category other than out of scope.

A category that hands the message to a person must be clearly meant: below
``human_min_similarity`` the nearest category that needs no person wins instead. A wrong
hand-over costs a person's time and the customer's wait, and embeddings read topic more than
intent ("the Slack bot" is near "talk to an agent"); a wrong how-to reading costs nothing, the
turn searches the documents all the same.

One embedding per message and a matrix product: milliseconds on a CPU, no model call.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.knowledge.embedder import Embedder
from assistant.policy import OUT_OF_SCOPE, TriagePolicy
from assistant.schemas import TriageResult
from assistant.triage.classifier import Reading


def category_phrases(policy: TriagePolicy) -> list[tuple[str, str]]:
    """``(category, phrase)`` for every phrase that describes a category of ``policy``."""
    phrases = []
    for label, category in policy.categories.items():
        if label == OUT_OF_SCOPE:
            continue  # what is out of scope is whatever no other category is near
        own = [category.description, *category.examples]
        written = [p.strip() for p in own if p.strip()]
        for phrase in written or [label.replace("_", " ")]:
            phrases.append((label, phrase))
    return phrases


class ZeroShotTriage:
    """Nearest category description by cosine, ``out_of_scope`` below ``min_similarity``."""

    def __init__(
        self,
        policy: TriagePolicy,
        embedder: Embedder,
        *,
        min_similarity: float,
        human_min_similarity: float = -1.0,
    ) -> None:
        self.policy = policy
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.human_min_similarity = human_min_similarity
        phrases = category_phrases(policy)
        if not phrases:
            raise ValueError(f"the policy {policy.name!r} has no category to triage into")
        self._labels = [label for label, _ in phrases]
        self._vectors = embedder.embed_documents([phrase for _, phrase in phrases])

    def similarities(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Per text, each category's best cosine over its phrases."""
        if not texts:
            return []
        scores = self.embedder.embed_queries(texts) @ self._vectors.T
        result = []
        for row in scores:
            best: dict[str, float] = {}
            for label, score in zip(self._labels, row.tolist(), strict=True):
                best[label] = max(score, best.get(label, -1.0))
            result.append(best)
        return result

    def __call__(self, text: str) -> TriageResult:
        """One message's reading: the engine as every caller of triage takes it."""
        return self.read([text])[0].result

    def in_scope(self, text: str) -> TriageResult:
        """The reading of a message known to be the team's business."""
        return self.read([text], in_scope=True)[0].result

    def read(self, texts: Sequence[str], *, in_scope: bool = False) -> list[Reading]:
        """A reading per text; ``confidence`` is the winning cosine (comparable across texts,
        not a probability). ``in_scope``: the texts are known to be the team's business (the
        documents answered them), so none is ``out_of_scope``."""
        readings = []
        for scores in self.similarities(texts):
            label, score = max(scores.items(), key=lambda item: item[1])
            if self._needs_human(label) and score < self.human_min_similarity:
                others = {k: v for k, v in scores.items() if not self._needs_human(k)}
                if others:
                    label, score = max(others.items(), key=lambda item: item[1])
            if (
                not in_scope
                and score < self.min_similarity
                and OUT_OF_SCOPE in self.policy.categories
            ):
                label = OUT_OF_SCOPE
            readings.append(Reading(result=self._result(label), confidence=score))
        return readings

    def _needs_human(self, label: str) -> bool:
        return self.policy.categories[label].needs_human

    def _result(self, label: str) -> TriageResult:
        category = self.policy.categories[label]
        return TriageResult.model_validate(
            {"category": label, "priority": category.priority, "needs_human": category.needs_human},
            context={"policy": self.policy},
        )

"""Zero-shot triage: the policy's own words as the classifier, before anyone labels a ticket.

Each category is described once in the policy (a one-line ``description`` and, optionally, a few
``examples`` of what customers write). A category is read by all its phrases together: their
embeddings' mean (the centroid), and a message takes the category whose centroid is nearest by
cosine. Not the category of the single nearest phrase: one example then captures whatever
shares a word with it ("My account is locked after too many attempts" took "How many times
do you retry a webhook?" to account access, priority high), and a category with fourteen
examples of how-to questions lost to one with three. On 201 labelled support messages of ten
kinds of product (benchmarks/triage_support_policy.py) the centroid reads 0.75 of the dev half
right against 0.69 for the nearest phrase, and gives fewer how-to questions priority high.

A question asks; a report tells. Embeddings read topic more than intent, so a question about
single sign-on sits nearer "I cannot log in" than any how-to example. For a message written as
a question (it ends with "?" or opens with how, can, does, what...), a category of priority
high or urgent must be clearly meant, as one that hands over must: unless one of its phrases is
within ``urgent_question_min_similarity``, the nearest other category wins. A how-to read at
high priority jumps a team's queue; a real access problem asked as a question ("Why can't I
log in? It says my password is wrong") is still near the policy's words for it. No category
is named, so it works for any policy; it reads English questions.

A question that only asks (``only_asks``: a clause opens with how, when, can..., no other
clause says anything of the writer, nothing is negated) wants information, and no one need
act on it. On two help centers unlike any in the benchmark, "How long until a payout reaches
my bank?" read as a refund to hand over (0.43 from "I was charged twice, I want my money
back") and "What does error X mean?" as a bug at priority high (0.50 from "I get an error
message when I try to save"): topic again, not intent. Such a question takes a category that
hands over, or one of priority high or urgent, only within ``asking_min_similarity`` (0.55),
stricter than the two bounds above. A question that reports ("I bought it by mistake, can I
get my money back?", "Why can't I log in?") keeps them. With the policy's generic how-to
examples (booking, opening hours, how long something takes, limits...), the benchmark's
three files read 0.790 / 0.750 / 0.750 right (dev / test / unseen products; 0.781 / 0.719 /
0.614 before), and none of their messages that needs no person is handed to one.

A message of only greetings or thanks ("good morning", "thanks a lot!";
``assistant.wording``) is ``out_of_scope`` when the policy has it, whatever its embedding is
near: "good morning" sat nearer a feature request than "hi there" did. A policy with
categories whose own words greet or thank (CLINC150's greeting, thank_you, goodbye) reads it
by those instead.

Below ``min_similarity`` to every phrase of the categories that may win (those clearly meant,
as below) nothing in the policy is close, and the message is ``out_of_scope`` when the policy
has that category. A category without a description is read by
its name ("lost_or_stolen_card" -> "lost or stolen card"), so any policy works, BANKING77's too
(one phrase a category: its centroid is that phrase).

The threshold reads the policy only; the documents know the product better. A message the
turn then answers from the team's documents is in scope whatever its distance to the
descriptions ("How do I point the assistant at a vLLM server?" is far from every generic
description): ``read(..., in_scope=True)`` gives its nearest category other than out of scope.

A category that hands the message to a person must be clearly meant: unless one of its phrases is
within ``human_min_similarity``, the nearest other category wins instead. A wrong
hand-over costs a person's time and the customer's wait, and embeddings read topic more than
intent ("the Slack bot" is near "talk to an agent"); a wrong how-to reading costs nothing, the
turn searches the documents all the same.

One embedding per message and a matrix product: milliseconds on a CPU, no model call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.knowledge.embedder import Embedder
from assistant.policy import OUT_OF_SCOPE, TriagePolicy
from assistant.schemas import TriageResult
from assistant.triage.classifier import Reading
from assistant.wording import only_greeting, only_thanks_or_goodbye

QUESTION = re.compile(
    r"\?\s*$|^\W*(how|can|could|does|do|is|are|what|where|which|when|why|will|should)\b",
    re.IGNORECASE,
)
# A clause that asks for information ("why" is left out: "why is my order late?" reports).
ASKING = re.compile(
    r"^\W*(how|can|could|does|do|is|are|what|where|which|who|when|will|would|should|may)\b",
    re.IGNORECASE,
)
FIRST_PERSON = re.compile(r"\b(i|i'm|i've|i'd|me|my|mine|we|we're|we've|us|our)\b", re.IGNORECASE)
NEGATION = re.compile(r"n't\b|\b(not|never|cannot|no longer)\b", re.IGNORECASE)
CLAUSE_BREAK = re.compile(r"[.,;:!?\n]+")


def only_asks(text: str) -> bool:
    """Whether ``text`` is a question that only asks for information: a clause of it asks (opens
    with how, what, when, can...), every other clause says nothing of the writer, and nothing is
    negated. "The client already paid, how do I fix the amount?" only asks; "I bought it by
    mistake, can I get my money back?" reports first, and "Why can't I log in?" reports a
    failure."""
    text = text.replace("\u2019", "'")
    if not QUESTION.search(text) or NEGATION.search(text):
        return False
    clauses = [c for c in CLAUSE_BREAK.split(text) if c.strip()]
    asking = [ASKING.match(c) is not None for c in clauses]
    return any(asking) and all(
        asks or not FIRST_PERSON.search(c) for c, asks in zip(clauses, asking, strict=True)
    )


def _only_pleasantries(text: str) -> bool:
    return only_greeting(text) or only_thanks_or_goodbye(text)


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


@dataclass(frozen=True)
class Closeness:
    """How near one message is to each category of the policy."""

    centroid: dict[str, float]
    """Cosine to the category's centroid: which category the message is."""
    nearest_phrase: dict[str, float]
    """Cosine to the category's nearest phrase: whether it is clearly meant, and in scope."""


class ZeroShotTriage:
    """Nearest category centroid by cosine, ``out_of_scope`` below ``min_similarity``."""

    def __init__(
        self,
        policy: TriagePolicy,
        embedder: Embedder,
        *,
        min_similarity: float,
        human_min_similarity: float = -1.0,
        urgent_question_min_similarity: float = -1.0,
        asking_min_similarity: float = -1.0,
    ) -> None:
        self.policy = policy
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.human_min_similarity = human_min_similarity
        self.urgent_question_min_similarity = urgent_question_min_similarity
        self.asking_min_similarity = asking_min_similarity
        phrases = category_phrases(policy)
        if not phrases:
            raise ValueError(f"the policy {policy.name!r} has no category to triage into")
        # category_phrases gives each category's phrases one after another: a category is the
        # run of rows that starts at its index in _starts.
        owners = [label for label, _ in phrases]
        self._labels = list(dict.fromkeys(owners))
        self._starts = np.array([owners.index(label) for label in self._labels])
        self._vectors = embedder.embed_documents([phrase for _, phrase in phrases])
        # The categories for greetings or thanks, where the policy has them (CLINC150's
        # greeting, thank_you, goodbye): those read a greeting; without them it is no request.
        self._small_talk = tuple(
            dict.fromkeys(label for label, phrase in phrases if _only_pleasantries(phrase))
        )
        centroids = np.add.reduceat(self._vectors, self._starts, axis=0)
        self._centroids = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)

    def closeness(self, texts: Sequence[str]) -> list[Closeness]:
        """Per text, its cosine to each category's centroid and to its nearest phrase."""
        if not texts:
            return []
        queries = self.embedder.embed_queries(texts)
        to_centroids = queries @ self._centroids.T
        to_nearest = np.maximum.reduceat(queries @ self._vectors.T, self._starts, axis=1)
        return [
            Closeness(
                centroid=dict(zip(self._labels, centroid_row.tolist(), strict=True)),
                nearest_phrase=dict(zip(self._labels, nearest_row.tolist(), strict=True)),
            )
            for centroid_row, nearest_row in zip(to_centroids, to_nearest, strict=True)
        ]

    def __call__(self, text: str) -> TriageResult:
        """One message's reading: the engine as every caller of triage takes it."""
        return self.read([text])[0].result

    def in_scope(self, text: str) -> TriageResult:
        """The reading of a message known to be the team's business."""
        return self.read([text], in_scope=True)[0].result

    def read(self, texts: Sequence[str], *, in_scope: bool = False) -> list[Reading]:
        """A reading per text; ``confidence`` is the winning centroid's cosine (comparable
        across texts, not a probability). ``in_scope``: the texts are known to be the team's
        business (the documents answered them), so none is ``out_of_scope`` but a greeting or a
        thank-you."""
        readings = []
        for text, near in zip(texts, self.closeness(texts), strict=True):
            question, asks = QUESTION.search(text) is not None, only_asks(text)
            meant = {
                k: v
                for k, v in near.centroid.items()
                if self._clearly_meant(k, near, question=question, asks=asks)
            }
            candidates = meant or near.centroid
            # A greeting or a thank-you is no request whatever its embedding is near ("good
            # morning" sat nearer a feature request than "hi there"), nor made one by a search,
            # unless the policy has categories for them.
            pleasantry = _only_pleasantries(text)
            if pleasantry and self._small_talk:
                candidates = {k: near.centroid[k] for k in self._small_talk}
            label, score = max(candidates.items(), key=lambda item: item[1])
            # Near any category is in scope, one that may not win included: "How do I end my
            # ride and lock the bike?" is near only the words of categories a question that only
            # asks may not take, and was out of scope. A greeting is out of scope by `pleasantry`.
            nothing_near = max(near.nearest_phrase.values()) < self.min_similarity
            if ((nothing_near and not in_scope) or (pleasantry and not self._small_talk)) and (
                OUT_OF_SCOPE in self.policy.categories
            ):
                label = OUT_OF_SCOPE
            readings.append(Reading(result=self._result(label), confidence=score))
        return readings

    def _clearly_meant(self, label: str, near: Closeness, *, question: bool, asks: bool) -> bool:
        """Whether ``label`` may win: a category that hands over, or for a question one of
        priority high or urgent, only with a phrase of it this near; for a question that only
        asks, either only nearer still."""
        category = self.policy.categories[label]
        nearest = near.nearest_phrase[label]
        urgent = category.priority in ("urgent", "high")
        if asks and (urgent or category.needs_human) and nearest < self.asking_min_similarity:
            return False
        if category.needs_human and nearest < self.human_min_similarity:
            return False
        return not (question and urgent and nearest < self.urgent_question_min_similarity)

    def _result(self, label: str) -> TriageResult:
        category = self.policy.categories[label]
        return TriageResult.model_validate(
            {"category": label, "priority": category.priority, "needs_human": category.needs_human},
            context={"policy": self.policy},
        )

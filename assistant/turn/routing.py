"""The decide step's fitted router: search, reply or hand over, from real labels.

A multinomial logistic regression over the question's embedding and a few signs of a vague
question (its length, whether a conversation came before, pronouns and demonstratives, how
close it is to the earlier turn), fitted by `assistant adapters fit-router` on MTRAG-UN tasks,
CLINC150 small talk and out-of-scope rows, BANKING77 by the policy table and requests for a
person. The same row, with what the search found, is what the judge's clarify head reads
(`assistant.turn.judgement`): whether a question is too vague is decided after searching. Where no
router is fitted the graph falls back to the calibrated choice of the base model
(`assistant.llm.calibration`).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from assistant.errors import InputError
from assistant.knowledge.embedder import Embedder
from assistant.turn.heads import LinearHead, load_head

logger = logging.getLogger(__name__)

SEARCH = "search"
ROUTER_SIGNALS: tuple[str, ...] = ("length", "follows_a_turn", "refers_back", "context_cosine")
# Words that point at something the message itself does not name.
_REFERS_BACK = re.compile(
    r"\b(this|that|these|those|it|its|her|his|him|they|them|their|the one|such|there)\b",
    re.IGNORECASE,
)


def router_inputs(dim: int) -> list[str]:
    """The router head's input names: the embedding's coordinates, then the signals."""
    return [f"embedding_{i}" for i in range(dim)] + list(ROUTER_SIGNALS)


def router_rows(embedder: Embedder, messages: list[str], contexts: list[str]) -> np.ndarray:
    """One input row per (message, earlier user turns) pair, columns as `router_inputs`."""
    asked = embedder.embed_documents(messages)
    # Each distinct earlier turn is embedded once (most messages open their conversation).
    distinct = list(dict.fromkeys(c or " " for c in contexts))
    embedded = dict(zip(distinct, embedder.embed_documents(distinct), strict=True))
    earlier = [embedded[c or " "] for c in contexts]
    rows = []
    for message, context, a, e in zip(messages, contexts, asked, earlier, strict=True):
        follows = 1.0 if context.strip() else 0.0
        signals = [
            len(message.split()) / 20.0,
            follows,
            1.0 if _REFERS_BACK.search(message) else 0.0,
            float(a @ e) * follows,
        ]
        rows.append(np.concatenate([a, signals]))
    return np.asarray(rows, dtype=np.float64).reshape(
        len(messages), embedder.dim + len(ROUTER_SIGNALS)
    )


class FittedRouter:
    """Routes a message; another label must beat `search` by `margin` in probability.

    Searching by mistake costs a search that ends in an answer, a decline or a clarifying
    question; replying or handing over by mistake fails the customer, hence the margin.
    """

    def __init__(self, head: LinearHead, embedder: Embedder, *, margin: float) -> None:
        if SEARCH not in head.labels:
            raise ValueError(f"a router head needs a {SEARCH!r} label, has {head.labels}")
        self.head = head
        self.embedder = embedder
        self.margin = margin

    @classmethod
    def load(cls, folder: Path, embedder: Embedder) -> FittedRouter:
        """The head in `folder`, with the margin it was fitted with."""
        head = load_head(folder, "router", embedder=embedder.name)
        return cls(head, embedder, margin=head.threshold)

    def route(self, message: str, context: str) -> str:
        """One of the head's labels for `message` after the earlier user turns `context`."""
        return self.route_many([message], [context])[0]

    def route_many(self, messages: list[str], contexts: list[str]) -> list[str]:
        """`route` for each (message, context) pair, embedded in one batch."""
        search = self.head.labels.index(SEARCH)
        labels = []
        for p in self.head.probabilities(router_rows(self.embedder, messages, contexts)):
            best = int(np.argmax(p))
            chosen = best != search and p[best] - p[search] >= self.margin
            labels.append(self.head.labels[best] if chosen else SEARCH)
        return labels


def open_router(kind: str, folder: Path, embedder: Embedder | None) -> FittedRouter | None:
    """The fitted router when the settings ask for it and it loads; None means the calibrated
    base-model choice (with a warning when a fitted router was asked for and is unusable)."""
    if kind != "fitted" or embedder is None:
        return None
    try:
        return FittedRouter.load(folder, embedder)
    except (InputError, ValueError) as exc:
        logger.warning("router not used, falling back to the base model's choice: %s", exc)
        return None

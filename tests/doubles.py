"""Deterministic doubles for graph-logic tests (the real parts are tested in integration)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from assistant.graph.configuration import TurnConfig
from assistant.graph.deps import GraphDeps
from assistant.knowledge.embedder import Embedder
from assistant.knowledge.sparse import SparseEncoder
from assistant.schemas import RetrievedChunk
from assistant.settings import SearchMode, Settings
from assistant.turn.heads import LinearHead


class ScriptedChatModel(BaseChatModel):
    """Answers each prompt with `respond(prompt_text)` and records every prompt it saw."""

    respond: Callable[[str], str]
    prompts: list[str] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt = messages[-1].text
        self.prompts.append(prompt)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.respond(prompt)))])

    def saw(self, marker: str) -> int:
        """How many prompts contained `marker`."""
        return sum(marker in p for p in self.prompts)


# What the support graph's prompts contain (graphs/prompts.py), to script the model by step.
GENERATE_MARK = "Answer the customer's question"
REWRITE_MARK = "Better query:"
DECIDE_MARK = "What should the support assistant do"


def script(decision: str, answer: str = "The answer is 1 [1].") -> Callable[[str], str]:
    def respond(prompt: str) -> str:
        if DECIDE_MARK in prompt:
            return decision
        if REWRITE_MARK in prompt:
            return "a better query"
        if GENERATE_MARK in prompt:
            return answer
        return "Could you tell me which product you mean?"

    return respond


class ListRetriever:
    """Returns its chunks for their tenant, and records every search. With an `embedder`, it
    stands for a knowledge base (`build_deps` reads its encoders)."""

    def __init__(self, chunks: list[RetrievedChunk], *, embedder: Embedder | None = None) -> None:
        self.chunks = chunks
        self.searches: list[tuple[str, str]] = []
        # The top-k and mode of each search, in the same order.
        self.options: list[tuple[int, SearchMode]] = []
        self.embedder = embedder
        self.sparse: SparseEncoder | None = None

    def search(self, query: str, *, tenant: str, k: int, mode: SearchMode) -> list[RetrievedChunk]:
        self.searches.append((query, tenant))
        self.options.append((k, mode))
        return [c for c in self.chunks if c.tenant == tenant][:k]


def chunk(n: int, *, score: float = 0.8, tenant: str = "default") -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=f"00000000-0000-0000-0000-{n:012d}",
        doc_id=f"doc-{n}",
        tenant=tenant,
        text=f"Passage {n} says the answer is {n}.",
        title=f"Doc {n}",
        source=f"docs/doc-{n}.md",
        score=1.0 / n,
        dense_score=score,
    )


def graph_deps(
    settings: Settings, model: ScriptedChatModel, retriever: ListRetriever, **kw: Any
) -> GraphDeps:
    """The support graph's deps over the doubles: the settings' choices, searching `retriever`
    at k=5, hybrid."""
    turn = TurnConfig.from_settings(settings).model_copy(
        update={"top_k": 5, "search_mode": "hybrid"}
    )
    return GraphDeps(model=model, retriever=retriever, defaults=turn, **kw)


class HashEmbedder(Embedder):
    """A dense embedder without a model: each word adds a fixed pseudo-random direction, so
    texts sharing words are close. For tests of the API and ingestion over a real store."""

    def __init__(self, dim: int = 32) -> None:  # no SentenceTransformer behind it
        self.name = "hash"
        self.dim = dim

    def embed_documents(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        return np.stack([self.embed_query(t) for t in texts]) if texts else np.zeros((0, self.dim))

    def embed_queries(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        return self.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        # Like the real tokenizer, it fails on a string that is not valid Unicode.
        text.encode("utf-8")
        vector = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            seed = int.from_bytes(digest, "big")
            vector += np.random.default_rng(seed).standard_normal(self.dim, dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else np.full(self.dim, self.dim**-0.5, dtype=np.float32)


def constant_head(inputs: Sequence[str], p: float, **fields: Any) -> LinearHead:
    """A judge head whose raw P(second label) is `p` whatever it reads; `fields` set the rest
    (thresholds, calibration)."""
    return LinearHead(
        kind="judge",
        labels=["no", "yes"],
        inputs=list(inputs),
        mean=[0.0] * len(inputs),
        scale=[1.0] * len(inputs),
        weights=[[0.0] * len(inputs)],
        intercept=[float(np.log(p / (1 - p)))],
        embedder="hash",
        trained_on=["t.jsonl"],
        data_hash="0",
        **fields,
    )

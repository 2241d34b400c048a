"""Deterministic doubles for graph-logic tests (the real parts are tested in integration)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from assistant.schemas import RetrievedChunk
from assistant.settings import SearchMode


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


class ListRetriever:
    """Returns its chunks for their tenant, and records every search."""

    def __init__(self, chunks: list[RetrievedChunk]) -> None:
        self.chunks = chunks
        self.searches: list[tuple[str, str]] = []

    def search(self, query: str, *, tenant: str, k: int, mode: SearchMode) -> list[RetrievedChunk]:
        self.searches.append((query, tenant))
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

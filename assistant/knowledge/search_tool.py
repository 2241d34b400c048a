"""`search_knowledge_base`, the retrieval tool the agent calls."""

from __future__ import annotations

from typing import Annotated, Protocol

from langchain_core.tools import BaseTool, InjectedToolArg, StructuredTool
from pydantic import BaseModel, Field

from assistant.schemas import RetrievedChunk
from assistant.settings import SearchMode

TOOL_NAME = "search_knowledge_base"


class Retriever(Protocol):
    def search(
        self, query: str, *, tenant: str, k: int, mode: SearchMode
    ) -> list[RetrievedChunk]: ...


class SearchKnowledgeBaseArgs(BaseModel):
    query: str = Field(min_length=1, description="What to look for in the knowledge base.")
    # Injected by the graph from the request, never chosen by the model: a prompt cannot
    # widen a search to another tenant's documents.
    tenant: Annotated[str, InjectedToolArg] = Field(min_length=1)


def make_search_tool(retriever: Retriever, *, k: int, mode: SearchMode) -> BaseTool:
    """Build the tool over one retriever; its artifact is the list of retrieved chunks."""

    def search_knowledge_base(query: str, tenant: str) -> tuple[str, list[RetrievedChunk]]:
        chunks = retriever.search(query, tenant=tenant, k=k, mode=mode)
        listing = "\n".join(
            f"{n}. [{c.doc_id}] {c.title or c.section or c.source} (score {c.score:.3f})"
            for n, c in enumerate(chunks, 1)
        )
        return listing or "no results", chunks

    return StructuredTool.from_function(
        search_knowledge_base,
        name=TOOL_NAME,
        description="Search the support knowledge base; returns the most relevant passages.",
        args_schema=SearchKnowledgeBaseArgs,
        response_format="content_and_artifact",
    )

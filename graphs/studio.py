"""Entry point for `langgraph dev` / LangGraph Studio (see `langgraph.json`)."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from assistant.graphs.builder import build_graph
from assistant.llm.gateway import build_chat_model
from assistant.service import graph_deps, open_store
from assistant.settings import Settings


def make_graph(config: RunnableConfig) -> CompiledStateGraph:
    """Build the support graph from the settings; the LangGraph server adds its checkpointer."""
    settings = Settings()
    return build_graph(graph_deps(settings, open_store(settings), build_chat_model(settings)))

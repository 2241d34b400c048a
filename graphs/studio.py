"""Entry point for `langgraph dev` / LangGraph Studio (see `langgraph.json`)."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from assistant.graphs.builder import build_graph
from assistant.graphs.nodes import GraphDeps
from assistant.llm.gateway import build_chat_model
from assistant.llm.lora import SHIPPED_ADAPTERS_DIR, available_adapters
from assistant.service import open_store
from assistant.settings import Settings


def make_graph(config: RunnableConfig) -> CompiledStateGraph:
    """Build the support graph from the settings; the LangGraph server adds its checkpointer."""
    settings = Settings()
    adapters = available_adapters(settings.adapters_dir or SHIPPED_ADAPTERS_DIR)
    model = build_chat_model(settings)
    deps = GraphDeps.over(open_store(settings), model, settings, adapters=adapters)
    return build_graph(deps)

"""Entry point for `langgraph dev` / LangGraph Studio (see `langgraph.json`)."""

from __future__ import annotations

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from assistant.graph.builder import build_graph
from assistant.llm.gateway import build_chat_model
from assistant.service import graph_deps, open_store
from assistant.settings import Settings


def studio_settings(config: RunnableConfig) -> Settings:
    """The settings, with each `configurable` key that names a setting (`top_k`,
    `search_mode`, `answer_mode`, `verify_citations`, ...) taking its value from Studio's
    configuration; other keys (`thread_id`, ...) are LangGraph's own. Validated like any
    setting: a bad value is a clear error."""
    configurable = config.get("configurable") or {}
    overrides = {k: v for k, v in configurable.items() if k in Settings.model_fields}
    return Settings(**overrides)


def make_graph(config: RunnableConfig) -> CompiledStateGraph:
    """Build the support graph as the service does, from the settings and Studio's
    configuration; the LangGraph server adds its checkpointer."""
    settings = studio_settings(config)
    return build_graph(graph_deps(settings, open_store(settings), build_chat_model(settings)))

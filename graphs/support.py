"""Entry point for `langgraph dev` / LangGraph Studio (see `langgraph.json`)."""

from __future__ import annotations

from functools import cache

from langchain_core.runnables import RunnableConfig
from langgraph.graph.state import CompiledStateGraph

from assistant.graph.builder import build_graph
from assistant.graph.configuration import TurnConfig
from assistant.graph.deps import build_deps
from assistant.knowledge.store import open_store
from assistant.llm.gateway import build_chat_model
from assistant.settings import Settings


def studio_choices(config: RunnableConfig, settings: Settings | None = None) -> TurnConfig:
    """The turn's choices a Studio run makes: the settings', with each `configurable` key that
    names one (`top_k`, `search_mode`, `answer_mode`, `verify_citations`, ...) taking its value
    from Studio's configuration; other keys (`thread_id`, ...) are LangGraph's own. Validated
    like the setting of the same name: a bad value is a clear error. The graph's nodes read
    them the same way on every run."""
    return TurnConfig.from_runnable_config(config, TurnConfig.from_settings(settings or Settings()))


@cache
def _support_graph() -> CompiledStateGraph:
    settings = Settings()
    return build_graph(build_deps(settings, open_store(settings), build_chat_model(settings)))


def make_graph(config: RunnableConfig) -> CompiledStateGraph:
    """The support graph, built once from the settings (the environment, `.env`) as the
    service builds it; Studio's configuration reaches its nodes with each run
    (`studio_choices`), so it is never rebuilt for one. The LangGraph server adds its
    checkpointer."""
    return _support_graph()

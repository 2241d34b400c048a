"""Builds the support graph. Nothing else lives here."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from assistant.graphs import nodes
from assistant.graphs.nodes import GraphDeps, Update
from assistant.graphs.state import SupportState, TurnInput
from assistant.schemas import NodeTiming

NodeFn = Callable[..., Update]

TERMINAL_NODES = ("cite", "answer_directly", "clarify", "decline", "escalate")


def build_graph(
    deps: GraphDeps, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledStateGraph[SupportState, None, TurnInput, SupportState]:
    """Compile the support graph over `deps`; pass a checkpointer to keep threads."""
    graph = StateGraph(SupportState, input_schema=TurnInput)

    def add(name: str, fn: NodeFn) -> None:
        graph.add_node(name, _timed(name, partial(fn, deps=deps)))

    add("decide", nodes.decide)
    add("retrieve", nodes.retrieve)
    add("grade", nodes.grade)
    add("rewrite", nodes.rewrite)
    add("generate", nodes.generate)
    add("cite", nodes.cite)
    add("answer_directly", nodes.answer_directly)
    add("clarify", nodes.clarify)
    add("decline", nodes.decline)
    add("escalate", nodes.escalate)

    graph.add_edge(START, "decide")
    graph.add_conditional_edges(
        "decide", nodes.route_decision, ["retrieve", "answer_directly", "clarify", "escalate"]
    )
    graph.add_edge("retrieve", "grade")
    graph.add_conditional_edges(
        "grade",
        partial(nodes.route_after_grade, deps=deps),
        ["generate", "rewrite", "decline", "escalate"],
    )
    graph.add_edge("rewrite", "retrieve")
    graph.add_edge("generate", "cite")
    for name in TERMINAL_NODES:
        graph.add_edge(name, END)
    return graph.compile(checkpointer=checkpointer, name="support")


# `Callable[..., Update]`: LangGraph's node protocols name their parameter `state`.
def _timed(name: str, fn: Callable[[SupportState], Update]) -> Callable[..., Update]:
    def run(state: SupportState) -> Update:
        start = time.perf_counter()
        update = fn(state)
        elapsed = NodeTiming(node=name, ms=round((time.perf_counter() - start) * 1000, 2))
        return {**update, "timings": [*state.get("timings", []), elapsed]}

    return run

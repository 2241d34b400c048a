"""Builds the support graph. Nothing else lives here."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from assistant.graphs import nodes
from assistant.graphs.nodes import GraphDeps, Update
from assistant.graphs.state import SupportState, TurnInput
from assistant.schemas import NodeTiming

NodeFn = Callable[..., Update | Command[str]]

TERMINAL_NODES = ("cite", "answer_directly", "clarify", "decline", "await_human")


def build_graph(
    deps: GraphDeps, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledStateGraph[SupportState, None, TurnInput, SupportState]:
    """Compile the support graph over `deps`; pass a checkpointer to keep threads."""
    graph = StateGraph(SupportState, input_schema=TurnInput)

    def add(name: str, fn: NodeFn, destinations: tuple[str, ...] | None = None) -> None:
        graph.add_node(name, _timed(name, partial(fn, deps=deps)), destinations=destinations)

    add("triage", nodes.triage)
    add("decide", nodes.decide)
    add("retrieve", nodes.retrieve)
    add("grade", nodes.grade)
    add("rewrite", nodes.rewrite)
    add("generate", nodes.generate)
    add("cite", nodes.cite)
    add("answer_directly", nodes.answer_directly)
    add("clarify", nodes.clarify)
    add("decline", nodes.decline)
    # escalate routes itself (a Command): hand over, or search after all, or decline.
    add("escalate", nodes.escalate, destinations=("hand_over", "retrieve", "decline"))
    add("hand_over", nodes.hand_over)
    add("await_human", nodes.await_human)

    graph.add_edge(START, "triage")
    graph.add_edge("triage", "decide")
    graph.add_conditional_edges(
        "decide", nodes.route_decision, ["retrieve", "answer_directly", "escalate"]
    )
    graph.add_conditional_edges("retrieve", nodes.route_after_retrieve, ["grade", "clarify"])
    graph.add_conditional_edges(
        "grade",
        partial(nodes.route_after_grade, deps=deps),
        ["generate", "rewrite", "decline", "escalate"],
    )
    graph.add_edge("rewrite", "retrieve")
    graph.add_edge("hand_over", "await_human")
    graph.add_edge("generate", "cite")
    for name in TERMINAL_NODES:
        graph.add_edge(name, END)
    return graph.compile(checkpointer=checkpointer, name="support")


# `Callable[..., Update]`: LangGraph's node protocols name their parameter `state`.
def _timed(
    name: str, fn: Callable[[SupportState], Update | Command[str]]
) -> Callable[..., Update | Command[str]]:
    def run(state: SupportState) -> Update | Command[str]:
        start = time.perf_counter()
        result = fn(state)
        elapsed = NodeTiming(node=name, ms=round((time.perf_counter() - start) * 1000, 2))
        timings = {"timings": [*state.get("timings", []), elapsed]}
        if isinstance(result, Command):
            update = result.update if isinstance(result.update, dict) else {}
            return Command(update={**update, **timings}, goto=result.goto)
        return {**result, **timings}

    return run

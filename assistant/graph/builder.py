"""Builds the support graph. Nothing else lives here."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command, Overwrite

from assistant.graph import nodes, routers
from assistant.graph.deps import GraphDeps
from assistant.graph.nodes import SUMMARY_CHARS, Update
from assistant.graph.state import SupportState, TurnInput
from assistant.schemas import EscalationDecision, NodeTiming
from assistant.tracing import traced_node

NodeFn = Callable[..., Update | Command[str]]

SupportGraph = CompiledStateGraph[SupportState, None, TurnInput, SupportState]
TERMINAL_NODES = ("cite", "answer_directly", "clarify", "decline", "await_human")


def build_graph(
    deps: GraphDeps, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> SupportGraph:
    """Compile the support graph over `deps`; pass a checkpointer to keep threads.

    Each node and router reads the run's choices (`deps.choices`) from the `configurable`
    keys of the config it is invoked with, so a run changes them without a rebuilt graph.
    """
    graph = StateGraph(SupportState, input_schema=TurnInput)

    def add(name: str, fn: NodeFn, destinations: tuple[str, ...] | None = None) -> None:
        def node(state: SupportState, config: RunnableConfig) -> Update | Command[str]:
            step = _timed(name, partial(fn, deps=deps, turn=deps.choices(config)))
            if deps.tracer is not None:
                step = traced_node(name, step, deps.tracer)
            return step(state)

        graph.add_node(name, node, destinations=destinations)

    def after_grade(state: SupportState, config: RunnableConfig) -> str:
        return routers.route_after_grade(state, turn=deps.choices(config))

    def after_triage(state: SupportState, config: RunnableConfig) -> str:
        return routers.route_after_triage(state, turn=deps.choices(config))

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
    # escalate routes itself (a Command): hand over, or search after all, or decline, or
    # leave the hand-over to triage's referral (the policy's reason).
    add("escalate", nodes.escalate, destinations=("hand_over", "retrieve", "decline", "refer"))
    add("refer", nodes.refer)
    add("hand_over", nodes.hand_over)
    add("await_human", nodes.await_human)

    graph.add_edge(START, "triage")
    graph.add_conditional_edges("triage", after_triage, ["decide", "refer"])
    graph.add_conditional_edges(
        "decide", routers.route_decision, ["retrieve", "answer_directly", "escalate"]
    )
    graph.add_conditional_edges("retrieve", routers.route_after_retrieve, ["grade", "clarify"])
    graph.add_conditional_edges(
        "grade", after_grade, ["generate", "rewrite", "decline", "escalate", "clarify", "refer"]
    )
    graph.add_edge("refer", "hand_over")
    graph.add_edge("rewrite", "retrieve")
    graph.add_edge("hand_over", "await_human")
    graph.add_edge("generate", "cite")
    for name in TERMINAL_NODES:
        graph.add_edge(name, END)
    return graph.compile(checkpointer=checkpointer, name="support")


def waits_for_human(graph: SupportGraph, config: RunnableConfig) -> bool:
    """Whether the thread was handed to a human and waits for their reply (`Command(resume=)`)."""
    return "await_human" in graph.get_state(config).next


def hand_over_on_request(graph: SupportGraph, config: RunnableConfig, question: str) -> None:
    """Hand a thread whose turn has ended to a human, as the customer asked.

    Written as the escalate node's own decision, so the hand_over and await_human nodes run as
    after a model-made escalation: the same answer, the same interrupt, the same resume.
    """
    summary = f"The customer asked for a person. Their last question: {question}"
    decision = EscalationDecision(
        escalate=True, reason="human_requested", summary=summary[:SUMMARY_CHARS]
    )
    graph.update_state(
        config,
        Command(update={"escalation": decision, "timings": Overwrite([])}, goto="hand_over"),
        as_node="escalate",
    )
    graph.invoke(None, config)


# `Callable[..., Update]`: LangGraph's node protocols name their parameter `state`.
def _timed(
    name: str, fn: Callable[[SupportState], Update | Command[str]]
) -> Callable[..., Update | Command[str]]:
    def run(state: SupportState) -> Update | Command[str]:
        start = time.perf_counter()
        result = fn(state)
        elapsed = NodeTiming(node=name, ms=round((time.perf_counter() - start) * 1000, 2))
        timings = {"timings": [elapsed]}
        if isinstance(result, Command):
            update = result.update if isinstance(result.update, dict) else {}
            return Command(update={**update, **timings}, goto=result.goto)
        return {**result, **timings}

    return run

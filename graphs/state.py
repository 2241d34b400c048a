"""The state of one support thread, as LangGraph checkpoints it."""

from __future__ import annotations

from typing import Annotated, TypedDict

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.graph.message import add_messages

from assistant.adapters.schemas import EscalationDecision, TriageResult
from assistant.release import Released
from assistant.schemas import Action, Answer, NodeTiming, RetrievedChunk


class TurnInput(TypedDict):
    """What a caller sends for one turn. The per-turn fields are reset here."""

    messages: list[AnyMessage]
    question: str
    tenant: str
    queries: list[str]
    chunks: list[RetrievedChunk]
    relevant: list[RetrievedChunk]
    timings: list[NodeTiming]


class SupportState(TypedDict, total=False):
    # The whole conversation, kept across turns by the checkpointer.
    messages: Annotated[list[AnyMessage], add_messages]
    question: str
    tenant: str
    action: Action
    # Every query this turn sent to the knowledge base; its length bounds the rewrites.
    queries: list[str]
    # Chunks of the latest search, and those of them that passed the relevance grade.
    chunks: list[RetrievedChunk]
    relevant: list[RetrievedChunk]
    # The answer as the generate node released it, for cite to turn into the turn's answer.
    released: Released
    triage: TriageResult | None
    escalation: EscalationDecision | None
    answer: Answer
    timings: list[NodeTiming]


def new_turn(question: str, tenant: str) -> TurnInput:
    """The input of one turn: the question joins the conversation, per-turn fields restart."""
    return TurnInput(
        messages=[HumanMessage(question)],
        question=question,
        tenant=tenant,
        queries=[],
        chunks=[],
        relevant=[],
        timings=[],
    )

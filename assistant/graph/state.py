"""The state of one support thread, as LangGraph checkpoints it."""

from __future__ import annotations

import operator
from typing import Annotated, NotRequired, TypedDict

from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.graph.message import add_messages
from langgraph.types import Overwrite

from assistant.schemas import (
    Action,
    Answer,
    EscalationDecision,
    NodeTiming,
    RetrievedChunk,
    TriageResult,
)
from assistant.turn.release import Released


class TurnInput(TypedDict):
    """What a caller sends for one turn. The per-turn fields are reset here (`Overwrite`
    passes the appending reducers of `queries` and `timings`)."""

    messages: list[AnyMessage]
    question: str
    tenant: str
    user: NotRequired[str]
    queries: Overwrite
    chunks: list[RetrievedChunk]
    relevant: list[RetrievedChunk]
    # A reading or hand-over of an earlier turn says nothing about this one.
    triage: TriageResult | None
    escalation: EscalationDecision | None
    hedged: bool
    timings: Overwrite


class SupportState(TypedDict, total=False):
    # The whole conversation, kept across turns by the checkpointer.
    messages: Annotated[list[AnyMessage], add_messages]
    question: str
    tenant: str
    # The end user the thread is about, when the client named one (erasure finds them by it).
    user: str
    action: Action
    # Every query this turn sent to the knowledge base (nodes return the new one); its length
    # bounds the rewrites.
    queries: Annotated[list[str], operator.add]
    # Chunks of the latest search, and those of them that passed the relevance grade.
    chunks: list[RetrievedChunk]
    relevant: list[RetrievedChunk]
    # The judge found the search answers, but not confidently: the answer is hedged.
    hedged: bool
    # The answer as the generate node released it, for cite to turn into the turn's answer.
    released: Released
    triage: TriageResult | None
    escalation: EscalationDecision | None
    answer: Answer
    # How long each node of this turn took; each node's run adds its own.
    timings: Annotated[list[NodeTiming], operator.add]


def new_turn(question: str, tenant: str, user: str | None = None) -> TurnInput:
    """The input of one turn: the question joins the conversation, per-turn fields restart.
    Without a `user`, the thread keeps the one it has."""
    turn = TurnInput(
        messages=[HumanMessage(question)],
        question=question,
        tenant=tenant,
        queries=Overwrite([]),
        chunks=[],
        relevant=[],
        triage=None,
        escalation=None,
        hedged=False,
        timings=Overwrite([]),
    )
    if user is not None:
        turn["user"] = user
    return turn

"""The support graph's conditional edges: which node runs next, read from the state."""

from __future__ import annotations

from assistant.graph.configuration import TurnConfig
from assistant.graph.state import SupportState
from assistant.schemas import Action


def route_after_triage(state: SupportState, *, turn: TurnConfig) -> str:
    """A reading that needs a person goes to one at once when the run says to perform the
    hand-over; otherwise the turn decides its step."""
    reading = state.get("triage")
    if turn.triage_hand_over == "perform" and reading is not None and reading.needs_human:
        return "refer"
    return "decide"


def route_decision(state: SupportState) -> str:
    return {
        Action.RETRIEVE: "retrieve",
        Action.ANSWER: "answer_directly",
        # A clarifying question names what a search finds, so it searches first.
        Action.CLARIFY: "retrieve",
        Action.ESCALATE: "escalate",
    }[state["action"]]


def route_after_retrieve(state: SupportState) -> str:
    return "clarify" if state["action"] is Action.CLARIFY else "grade"


def route_after_grade(state: SupportState, *, turn: TurnConfig) -> str:
    """Answer what the judge kept; with nothing kept, rewrite the query while the run's
    rewrites last, then hand over what triage says needs a person, else take the run's
    no-answer action."""
    if state["action"] is Action.CLARIFY:
        return "clarify"
    if state["relevant"]:
        return "generate"
    if len(state["queries"]) <= turn.max_rewrites:
        return "rewrite"
    reading = state.get("triage")
    if turn.triage_hand_over != "off" and reading is not None and reading.needs_human:
        # Nothing in the documents, and triage says a person must act: hand over, not decline.
        return "refer"
    return turn.no_answer_action

"""Thumbs up/down on an answer, as a row of the interaction log the API's ratings go to too."""

from __future__ import annotations

from datetime import UTC, datetime

from langchain_core.messages import AnyMessage

from assistant.adapters.schemas import Feedback
from assistant.api.schemas import FeedbackRecord
from assistant.slack.threads import ButtonValue


def rated_turn(messages: list[AnyMessage], turn: int) -> tuple[str, str] | None:
    """(question, answer) of the `turn`-th assistant reply of a thread, from 0; None when the
    thread has no such reply."""
    replies = [i for i, m in enumerate(messages) if m.type == "ai"]
    if turn >= len(replies):
        return None
    at = replies[turn]
    asked = [m.text for m in messages[:at] if m.type == "human"]
    return (asked[-1], messages[at].text) if asked else None


def feedback_record(
    messages: list[AnyMessage], rated: ButtonValue, *, rating: Feedback, tenant: str
) -> FeedbackRecord | None:
    """The log row of a rating, in the API's shape; None when the turn is not in the thread."""
    turn = rated_turn(messages, rated.turn)
    if turn is None:
        return None
    question, answer = turn
    return FeedbackRecord(
        question=question,
        answer=answer,
        feedback=rating,
        thread_id=rated.thread.graph_thread_id,
        turn=rated.turn,
        tenant=tenant,
        outcome=rated.outcome,
        at=datetime.now(UTC),
    )

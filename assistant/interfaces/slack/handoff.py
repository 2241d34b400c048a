"""The hand-off note a human reads first when a thread is handed over."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AnyMessage
from pydantic import BaseModel, ConfigDict

from assistant.interfaces.slack.thread_keys import SlackThread
from assistant.policy import EscalationReason
from assistant.schemas import Answer, ChatTurn

# Enough of the conversation for the human to pick it up without opening the customer's thread.
TRANSCRIPT_MESSAGES = 6


class HandOff(BaseModel):
    """What the escalation channel shows of a customer thread handed to a human."""

    model_config = ConfigDict(frozen=True)

    customer: SlackThread
    reason: EscalationReason
    summary: str
    transcript: list[ChatTurn]


def handoff_note(customer: SlackThread, answer: Answer, values: dict[str, Any]) -> HandOff:
    """The hand-off of `answer` (an escalated turn) for the escalation channel."""
    decision = answer.escalation
    question = str(values.get("question", ""))
    return HandOff(
        customer=customer,
        reason=decision.reason if decision else "unresolved",
        summary=(decision.summary if decision and decision.summary else question),
        transcript=transcript(values.get("messages", []))[-TRANSCRIPT_MESSAGES:],
    )


def transcript(messages: list[AnyMessage]) -> list[ChatTurn]:
    """The conversation of a thread as customer (`user`) and assistant turns."""
    return [
        ChatTurn(role="user" if m.type == "human" else "assistant", content=m.text)
        for m in messages
        if m.type in {"human", "ai"}
    ]

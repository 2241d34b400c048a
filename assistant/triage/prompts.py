"""The prompts and reply formats of the adapters, shared by training and inference.

An adapter only works on the prompt it was trained on, so the data builders and the inference
code both build their messages here. The system prompts are short on purpose: every token is
paid for in every training step on a 2-core CPU, and the adapter learns the labels and the
format from the examples, not from the instructions. Replies are one-line JSON with the keys
in a fixed order (the order the constrained-decoding regexes in ``assistant.triage.inference``
expect).
"""

from __future__ import annotations

import json

from assistant.policy import TriagePolicy, shipped_policy
from assistant.schemas import ChatTurn, EscalationDecision, TriageResult

ESCALATION_SYSTEM = (
    "Decide whether this support request must go to a human agent. Reply with JSON: "
    "escalate, reason and summary (the hand-off note, empty if not escalated)."
)

NO_CONTEXT = "none"


def triage_messages(text: str, policy: TriagePolicy | None = None) -> list[ChatTurn]:
    """The prompt turns for triaging ``text`` under ``policy`` (default: the shipped one),
    whose ``system_prompt`` the adapter was trained with."""
    system = (policy or shipped_policy()).system_prompt
    return [ChatTurn(role="system", content=system), ChatTurn(role="user", content=text)]


def escalation_messages(text: str, context: str = NO_CONTEXT) -> list[ChatTurn]:
    """The prompt turns for deciding on ``text``; ``context`` says what the assistant knows
    (for example whether the knowledge base had an answer)."""
    user = f"Request: {text}\nContext: {context or NO_CONTEXT}"
    return [
        ChatTurn(role="system", content=ESCALATION_SYSTEM),
        ChatTurn(role="user", content=user),
    ]


def render_triage(result: TriageResult) -> str:
    """``result`` as the reply the triage adapter is trained to write."""
    return json.dumps(result.model_dump(), ensure_ascii=False)


def render_escalation(decision: EscalationDecision) -> str:
    """``decision`` as the reply the escalation adapter is trained to write."""
    return json.dumps(decision.model_dump(), ensure_ascii=False)

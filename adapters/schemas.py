"""Typed models of the adapters' outputs, their training examples and the interaction log."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from assistant.adapters.policy import EscalationReason, Priority, TriagePolicy, shipped_policy
from assistant.kinds import Task

Role = Literal["system", "user", "assistant"]


class TriageResult(BaseModel):
    """What triage says about one incoming message.

    ``category`` must be a label of the policy passed as validation context
    (``model_validate(data, context={"policy": policy})``), else of the shipped policy.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str = Field(description="A category of the triage policy in use.")
    priority: Priority
    needs_human: bool

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str, info: ValidationInfo) -> str:
        policy: TriagePolicy = (info.context or {}).get("policy") or shipped_policy()
        if value not in policy.categories:
            raise ValueError(f"unknown category {value!r} (not in the policy {policy.name!r})")
        return value


class EscalationDecision(BaseModel):
    """Whether a request goes to a human, why, and the note that human reads first."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    escalate: bool
    reason: EscalationReason
    summary: str = Field("", max_length=400, description="Hand-off note; empty if not escalated.")

    @model_validator(mode="after")
    def _reason_matches_decision(self) -> EscalationDecision:
        # An escalation without a reason (or a reason without one) is a contradiction the
        # human reading the hand-off could not act on: reject it so it gets repaired.
        if self.escalate == (self.reason == "none"):
            raise ValueError(
                "`reason` must be 'none' exactly when `escalate` is false"
                f" (got escalate={self.escalate}, reason={self.reason!r})"
            )
        return self


class ChatTurn(BaseModel):
    model_config = ConfigDict(frozen=True)

    role: Role
    content: str


class ChatExample(BaseModel):
    """One supervised example: the prompt turns, then the assistant reply to learn."""

    task: Task
    messages: list[ChatTurn] = Field(min_length=2)
    source: str = Field(description="Where the example came from, e.g. `banking77_train.jsonl:12`.")
    key: str = Field(description="The real text whose hash decides the train/dev split.")

    @field_validator("messages")
    @classmethod
    def _ends_with_reply(cls, value: list[ChatTurn]) -> list[ChatTurn]:
        if value[-1].role != "assistant":
            raise ValueError("the last turn must be the assistant reply to learn")
        return value

    @property
    def reply(self) -> str:
        return self.messages[-1].content

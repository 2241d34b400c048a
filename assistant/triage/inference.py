"""Triage and escalation through the model gateway: adapter, constrained JSON, validation.

The reply is constrained to the JSON shape (a regex on the embedded model and on vLLM), then
validated with pydantic. A reply that still fails (a backend that cannot constrain, a reply
cut at the token limit) gets one bounded repair: the model is shown its reply and the error
and asked again. If that fails too, ``ModelOutputError`` says what came back; nothing crashes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from assistant.llm.errors import ModelOutputError
from assistant.llm.gateway import complete
from assistant.policy import PRIORITIES, REASONS, TriagePolicy, shipped_policy
from assistant.schemas import ChatTurn, EscalationDecision, TriageResult
from assistant.triage.prompts import NO_CONTEXT, escalation_messages, triage_messages

T = TypeVar("T", bound=BaseModel)

TRIAGE_ADAPTER = "triage"
ESCALATION_ADAPTER = "escalation"


def _alternatives(values: Sequence[str]) -> str:
    return "(" + "|".join(re.escape(v) for v in values) + ")"


def triage_regex(policy: TriagePolicy) -> str:
    """The constraint on a triage reply under ``policy``: its labels only, in the exact
    one-line shape `render_triage` writes (key order and spacing included), so the
    constraint and the adapter agree token for token."""
    return (
        r'\{"category": "'
        + _alternatives(policy.labels)
        + r'", "priority": "'
        + _alternatives(PRIORITIES)
        + r'", "needs_human": (true|false)\}'
    )


# A JSON string body: any character but quote, backslash and control characters, or an escape.
_JSON_STRING = r'([^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*'
ESCALATION_REGEX = (
    r'\{"escalate": (true|false), "reason": "'
    + _alternatives(REASONS)
    + r'", "summary": "'
    + _JSON_STRING
    + r'"\}'
)

_REPAIR = (
    "Your reply is not valid: {error}. Reply again with only the JSON object, in exactly the "
    "requested shape."
)


@dataclass(frozen=True)
class Validated(Generic[T]):
    """A validated reply, and whether it needed the repair round to get there."""

    value: T
    repaired: bool
    raw: str


def parse_reply(text: str, schema: type[T], policy: TriagePolicy | None = None) -> T:
    """The JSON object in ``text`` validated as ``schema`` (a triage category against
    ``policy``, default the shipped one).

    Tolerates what small models wrap around JSON (code fences, a sentence before or after):
    the first ``{`` to the last ``}`` is parsed. Raises ``ValueError`` with the reason.
    """
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the reply")
    try:
        data = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at character {exc.pos})") from exc
    try:
        return schema.model_validate(data, context={"policy": policy or shipped_policy()})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'reply'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ValueError(problems) from exc


def generate_validated(
    model: BaseChatModel,
    turns: Sequence[ChatTurn],
    schema: type[T],
    *,
    adapter: str | None,
    regex: str | None,
    policy: TriagePolicy | None = None,
) -> Validated[T]:
    """Ask ``model`` (with ``adapter``) for a reply matching ``regex``, validate it as
    ``schema`` (under ``policy``); one repair round, then ``ModelOutputError``."""
    messages = to_messages(turns)
    first = complete(model, messages, adapter=adapter, regex=regex)
    try:
        return Validated(parse_reply(first, schema, policy), repaired=False, raw=first)
    except ValueError as exc:
        error = str(exc)
    retry = [*messages, AIMessage(first), HumanMessage(_REPAIR.format(error=error))]
    second = complete(model, retry, adapter=adapter, regex=regex)
    try:
        return Validated(parse_reply(second, schema, policy), repaired=True, raw=second)
    except ValueError as exc:
        raise ModelOutputError(
            f"The {adapter or 'base'} model did not return a valid {schema.__name__} after one "
            f"repair: {exc}. Its replies were {first[:200]!r} and {second[:200]!r}."
        ) from exc


def to_messages(turns: Sequence[ChatTurn]) -> list[BaseMessage]:
    """Our chat turns as langchain-core messages."""
    kinds: dict[str, type[BaseMessage]] = {
        "system": SystemMessage,
        "user": HumanMessage,
        "assistant": AIMessage,
    }
    return [kinds[turn.role](turn.content) for turn in turns]


def triage_validated(
    model: BaseChatModel,
    text: str,
    *,
    adapter: str | None = TRIAGE_ADAPTER,
    policy: TriagePolicy | None = None,
) -> Validated[TriageResult]:
    """``triage`` with the repair flag and raw reply (for evaluation); ``adapter=None`` asks
    the base model the same question."""
    policy = policy or shipped_policy()
    return generate_validated(
        model,
        triage_messages(text, policy),
        TriageResult,
        adapter=adapter,
        regex=triage_regex(policy),
        policy=policy,
    )


def triage(
    model: BaseChatModel,
    text: str,
    *,
    adapter: str = TRIAGE_ADAPTER,
    policy: TriagePolicy | None = None,
) -> TriageResult:
    """Category, priority and whether a human is needed for the message ``text``, by the
    LoRA ``adapter`` trained on ``policy`` (default: the shipped BANKING77 policy).

    Raises ``ModelOutputError`` if the model's reply cannot be validated even after a repair,
    and ``UnknownModelError`` if the backend has no such adapter.
    """
    return triage_validated(model, text, adapter=adapter, policy=policy).value


def escalation_validated(
    model: BaseChatModel,
    text: str,
    context: str = NO_CONTEXT,
    *,
    adapter: str | None = ESCALATION_ADAPTER,
) -> Validated[EscalationDecision]:
    """``decide_escalation`` with the repair flag and raw reply (for evaluation)."""
    return generate_validated(
        model,
        escalation_messages(text, context),
        EscalationDecision,
        adapter=adapter,
        regex=ESCALATION_REGEX,
    )


def decide_escalation(
    model: BaseChatModel, text: str, context: str = NO_CONTEXT
) -> EscalationDecision:
    """Whether ``text`` goes to a human, why, and the hand-off summary.

    ``context`` is what the assistant knows that the text does not say, in plain words, as the
    adapter was trained: "The knowledge base has no answer.", "The knowledge base has an
    answer.", "The assistant answered: ...", or "none". Raises as ``triage`` does.
    """
    return escalation_validated(model, text, context).value

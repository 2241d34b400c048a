"""Data builders: real support data -> chat examples for the triage and escalation adapters.

Sources (all real, none copied into the repository):

- BANKING77 (``banking77_train.jsonl``, ``{text, label}``): the triage examples, and the
  escalation examples whose decision follows the policy table (``assistant.policy``).
- MTRAG support tasks (``support_qa_dev.jsonl``): ``UNANSWERABLE`` tasks escalate (the
  knowledge base cannot answer), ``ANSWERABLE`` and ``PARTIAL`` tasks do not (it can).
  ``UNDERSPECIFIED`` tasks are left out: they call for a clarifying question, not a human.
- Requests for a person: no public dataset here labels them, so a small, documented set of
  hand-written phrases (``HUMAN_REQUEST_PHRASES``) is combined with real BANKING77 messages.
  Only the phrase is written by us; the request it is attached to is real.
- The assistant's interaction log (``assistant.interaction_log``; hand-written JSONL
  ``{question, answer, feedback, category?}`` rows too): a down-voted answer becomes an
  escalation (``unresolved``), an up-voted one a non-escalation, and a row with a reviewed
  ``category`` a triage example; the other hard cases of a logged turn (hand-overs, removed
  citations) are labelled by ``assistant.training.flywheel``.

Hand-off summaries are built only from the real text (the customer's words, condensed) and the
labels; nothing is invented. The dev hold-out is chosen by a hash of the real text
(``is_dev``), so it is stable across runs and machines, and every example made from one text
(a message and its "ask for a person" variant, say) lands on the same side.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from assistant.interaction_log import InteractionRecord
from assistant.jsonl import read_jsonl
from assistant.policy import EscalationReason, TriagePolicy, shipped_policy
from assistant.schemas import (
    ChatExample,
    ChatTurn,
    EscalationDecision,
    TriageResult,
)
from assistant.triage.prompts import (
    escalation_messages,
    render_escalation,
    render_triage,
    triage_messages,
)
from assistant.triage.support_qa import load_support_qa

DEV_PERCENT = 10
SUMMARY_QUOTE_CHARS = 240

KB_HAS_ANSWER = "The knowledge base has an answer."
KB_NO_ANSWER = "The knowledge base has no answer."

HUMAN_REQUEST_PHRASES: tuple[str, ...] = (
    "I want to talk to a real person.",
    "Can I speak to a human agent please?",
    "Please put me through to someone from customer service.",
    "I'd like to speak with an agent, not a bot.",
    "Connect me to a human.",
    "Is there a person I can talk to about this?",
    "I need to speak to someone on your team.",
    "Let me talk to a representative.",
    "Get me a human being, please.",
    "Can someone from support call me back?",
)
"""Hand-written requests for a person (the only text here not taken from a dataset)."""

# One BANKING77 message in HUMAN_REQUEST_EVERY also yields an "ask for a person" variant.
HUMAN_REQUEST_EVERY = 8

REASON_PHRASES: dict[EscalationReason, str] = {
    "safety": "Someone is hurt or in danger",
    "security": "Security risk",
    "dispute": "Disputed transaction",
    "money_missing": "Money missing or delayed",
    "account_action": "Account action needed",
    "loss_or_damage": "Something lost, stolen or damaged",
    "unanswerable": "No answer in the knowledge base",
    "human_requested": "Customer asked for a person",
    "unresolved": "Unresolved request",
}


@dataclass(frozen=True)
class LabelledText:
    """One BANKING77 row."""

    text: str
    label: str
    source: str


@dataclass(frozen=True)
class SupportTask:
    """One MTRAG support task, reduced to what the escalation builder needs."""

    question: str
    previous: str
    answerability: str
    source: str


def text_hash(key: str) -> int:
    """A stable 64-bit hash of ``key`` (case and spacing ignored, so duplicates agree)."""
    normal = " ".join(key.casefold().split())
    return int.from_bytes(hashlib.sha256(normal.encode("utf-8")).digest()[:8], "big")


def text_bucket(key: str) -> int:
    """A stable bucket 0..99 for ``key``."""
    return text_hash(key) % 100


def is_dev(key: str, percent: int = DEV_PERCENT) -> bool:
    """Whether the text ``key`` belongs to the dev hold-out (never trained on)."""
    return text_bucket(key) < percent


def split(
    examples: Iterable[ChatExample], percent: int = DEV_PERCENT
) -> tuple[list[ChatExample], list[ChatExample]]:
    """(train, dev) by the hash of each example's key."""
    train: list[ChatExample] = []
    dev: list[ChatExample] = []
    for example in examples:
        (dev if is_dev(example.key, percent) else train).append(example)
    return train, dev


def condense(text: str, limit: int = SUMMARY_QUOTE_CHARS) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


# --- readers ----------------------------------------------------------------------------


class _BankingRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(pattern=r"\S")
    label: str


def read_banking77(path: Path) -> list[LabelledText]:
    """The ``{text, label}`` rows of a BANKING77 JSONL file."""
    rows = read_jsonl(path, _BankingRow, expected="BANKING77 rows `{text, label}`")
    return [
        LabelledText(text=row.text.strip(), label=row.label, source=f"{path.name}:{number}")
        for number, row in rows
    ]


def read_support_tasks(path: Path) -> list[SupportTask]:
    """The MTRAG support tasks of the support QA file ``path`` (``load_support_qa``), with the
    previous user turn as context."""
    return [
        SupportTask(
            question=row.question.strip(),
            previous=row.previous_question.strip(),
            answerability=row.answerability,
            source=row.source,
        )
        for row in load_support_qa(path)
    ]


# --- triage -----------------------------------------------------------------------------


def triage_result(intent: str, policy: TriagePolicy | None = None) -> TriageResult:
    """The triage answer ``policy`` (default: the shipped one) gives for ``intent``."""
    policy = policy or shipped_policy()
    rule = policy.policy_for(intent)
    return TriageResult.model_validate(
        {"category": intent, "priority": rule.priority, "needs_human": rule.needs_human},
        context={"policy": policy},
    )


def triage_example(
    text: str, intent: str, source: str, policy: TriagePolicy | None = None
) -> ChatExample:
    """The triage example of ``text`` whose intent is ``intent`` (the policy's answer)."""
    reply = ChatTurn(role="assistant", content=render_triage(triage_result(intent, policy)))
    return ChatExample(
        task="triage", messages=[*triage_messages(text, policy), reply], source=source, key=text
    )


def triage_examples(
    rows: Sequence[LabelledText], policy: TriagePolicy | None = None
) -> list[ChatExample]:
    """One triage example per labelled row."""
    return [triage_example(row.text, row.label, row.source, policy) for row in rows]


# --- escalation -------------------------------------------------------------------------


def escalation_example(
    text: str, context: str, decision: EscalationDecision, source: str, key: str
) -> ChatExample:
    """The escalation example: request ``text`` with ``context`` -> ``decision``."""
    reply = ChatTurn(role="assistant", content=render_escalation(decision))
    return ChatExample(
        task="escalation",
        messages=[*escalation_messages(text, context), reply],
        source=source,
        key=key,
    )


def _no_escalation() -> EscalationDecision:
    return EscalationDecision(escalate=False, reason="none", summary="")


def policy_escalation(
    text: str, intent: str, policy: TriagePolicy | None = None
) -> EscalationDecision:
    """The escalation ``policy`` (default: the shipped one) gives for a message of ``intent``."""
    rule = (policy or shipped_policy()).policy_for(intent)
    if not rule.needs_human:
        return _no_escalation()
    topic = intent.replace("_", " ").rstrip("?")
    summary = f"{REASON_PHRASES[rule.reason]} ({topic}). Customer wrote: {condense(text)}"
    return EscalationDecision(escalate=True, reason=rule.reason, summary=summary)


def with_human_request(text: str) -> str | None:
    """``text`` with a request for a person attached, for one text in ``HUMAN_REQUEST_EVERY``
    (chosen by hash, so the same text always gets the same phrase, or none)."""
    draw = text_hash("person:" + text)
    if draw % HUMAN_REQUEST_EVERY:
        return None
    draw //= HUMAN_REQUEST_EVERY
    phrase = HUMAN_REQUEST_PHRASES[draw % len(HUMAN_REQUEST_PHRASES)]
    # Phrase first or last, so a model does not learn a position.
    first = (draw // len(HUMAN_REQUEST_PHRASES)) % 2
    return f"{phrase} {text}" if first else f"{text} {phrase}"


def human_request_variant(row: LabelledText) -> ChatExample | None:
    """``row`` with a request for a person attached, for one row in ``HUMAN_REQUEST_EVERY``."""
    message = with_human_request(row.text)
    if message is None:
        return None
    summary = f"Customer asked for a person. Request: {condense(row.text)}"
    decision = EscalationDecision(escalate=True, reason="human_requested", summary=summary)
    return escalation_example(message, "none", decision, row.source + "+person", row.text)


def escalation_examples(
    banking: Sequence[LabelledText],
    tasks: Sequence[SupportTask] = (),
    *,
    task_repeats: int = 4,
    policy: TriagePolicy | None = None,
) -> list[ChatExample]:
    """Escalation examples from the policy table, the support tasks and requests for a person.

    The ~100 support tasks are repeated ``task_repeats`` times so that they are not drowned by
    ten thousand BANKING77 rows (they are the only examples of the knowledge-base signal).
    """
    examples = []
    for row in banking:
        decision = policy_escalation(row.text, row.label, policy)
        examples.append(escalation_example(row.text, "none", decision, row.source, row.text))
        if (variant := human_request_variant(row)) is not None:
            examples.append(variant)
    for task in tasks:
        example = _task_example(task)
        if example is not None:
            examples.extend([example] * task_repeats)
    return examples


def _task_example(task: SupportTask) -> ChatExample | None:
    text = f"{task.previous}\n{task.question}" if task.previous else task.question
    if task.answerability == "UNANSWERABLE":
        summary = f"No answer in the knowledge base. Customer asks: {condense(task.question)}"
        decision = EscalationDecision(escalate=True, reason="unanswerable", summary=summary)
        return escalation_example(text, KB_NO_ANSWER, decision, task.source, task.question)
    if task.answerability in ("ANSWERABLE", "PARTIAL"):
        return escalation_example(text, KB_HAS_ANSWER, _no_escalation(), task.source, task.question)
    return None


def rated_example(log: InteractionRecord, source: str) -> ChatExample:
    """A rated answer: down -> escalate (``unresolved``), up -> do not; context: the answer."""
    context = f"The assistant answered: {condense(log.answer, 300)}" if log.answer else "none"
    if log.feedback == "down":
        summary = f"Answer was rated unhelpful. Customer asked: {condense(log.question)}"
        decision = EscalationDecision(escalate=True, reason="unresolved", summary=summary)
    else:
        decision = _no_escalation()
    return escalation_example(log.question, context, decision, source, log.question)


# --- files ------------------------------------------------------------------------------


def write_examples(examples: Iterable[ChatExample], path: Path) -> None:
    """Write ``examples`` as JSONL chat examples (``{"task", "messages", ...}`` per line)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for example in examples:
            out.write(example.model_dump_json() + "\n")


def read_examples(path: Path) -> list[ChatExample]:
    """Examples written by ``write_examples``."""
    expected = "chat examples `{task, messages, source, key}`"
    return [row for _, row in read_jsonl(path, ChatExample, expected=expected, allow_empty=True)]


def examples_hash(examples: Iterable[ChatExample]) -> str:
    """sha256 over the examples' messages, in order: identifies the training data."""
    digest = hashlib.sha256()
    for example in examples:
        turns = [turn.model_dump() for turn in example.messages]
        digest.update(json.dumps(turns, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()

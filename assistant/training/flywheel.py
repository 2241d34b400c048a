"""The flywheel: the interaction log's hard cases -> the adapters' next training examples.

Rows are joined first: a rating finds the turn it rates by (thread, turn), the latest rating
of a turn wins (a customer may change their mind), and a reviewed ``category`` on any row of
the turn applies to it. Each turn then gets an escalation label only from something a person
did or from a rule the builders already apply; a hard case nobody has judged goes to the
review list instead of the training set. The first rule that applies decides:

1. the answer was a person's (``human_reply``): no example, it says nothing about the bot;
2. the customer asked for a person (the escalate button, ``POST /v1/threads/{id}/escalate``):
   escalate, ``human_requested``; context: the answer they had before asking;
3. rated down, the bot having answered: escalate, ``unresolved``; context: the answer;
4. rated up, the bot having answered: no escalation; context: the answer;
5. handed over by the assistant, and a human replied in the thread or the customer rated the
   hand-off up: escalate, with the hand-off's reason; context: what the escalate node saw;
6. a hard case (a hand-over by the assistant, or an answer whose citations were removed or
   found unsupported) with a reviewed ``category``: the policy table's decision;
7. any other hard case: review (``review.jsonl``): rate it or set ``category``, then pass the
   file back with ``--from-log``.

A turn with a reviewed ``category`` also makes a triage example (the policy table), as any
log row always did. Hand-off summaries are rebuilt from the customer's words with a fixed
lead-in naming the reason, never copied from the model's note.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.interaction_log import InteractionRecord, LoggedRow, read_log
from assistant.kinds import Task
from assistant.policy import EscalationReason, TriagePolicy, shipped_policy
from assistant.schemas import ChatExample, EscalationDecision, Outcome
from assistant.triage.examples import (
    KB_NO_ANSWER,
    REASON_PHRASES,
    LabelledText,
    condense,
    escalation_example,
    escalation_examples,
    policy_escalation,
    rated_example,
    read_banking77,
    read_support_tasks,
    triage_example,
    triage_examples,
)
from assistant.triage.prompts import NO_CONTEXT

# Case names, as `assistant adapters build-data` reports them.
THUMBS_DOWN = "thumbs down"
THUMBS_UP = "thumbs up (kept as the counterweight)"
CUSTOMER_HANDOVER = "customer asked for a person"
CONFIRMED_HANDOVER = "hand-over confirmed by a human"
BY_CATEGORY = "hard case labelled by its category"
REVIEW = "hard case left for review"
FLAGGED = "turns with removed or unsupported citations"
UNKNOWN_CATEGORY = "rows with a category not in the policy table"


@dataclass(frozen=True)
class LoggedTurn:
    """One turn with what is known about it from every row of the log."""

    record: InteractionRecord
    source: str
    human_replied: bool = False
    previous_answer: str = ""
    previous_question: str = ""
    handed_over_next: bool = False
    """The thread's next turn was handed over to a person (the answer did not settle it)."""


@dataclass
class FlywheelSet:
    """What the log yields: examples per task, the hard cases left for review, and counts."""

    triage: list[ChatExample] = field(default_factory=list)
    escalation: list[ChatExample] = field(default_factory=list)
    review: list[InteractionRecord] = field(default_factory=list)
    cases: Counter[str] = field(default_factory=Counter)


def join_turns(rows: Sequence[LoggedRow]) -> list[LoggedTurn]:
    """The log's turns in order, each with its latest rating, comment and category.

    Rows without a thread and turn (hand-written rows, ratings logged before turns were)
    stand alone, as they always did.
    """
    groups: dict[tuple[str, int], list[LoggedRow]] = {}
    order: list[tuple[str, int] | LoggedRow] = []
    for row in rows:
        key = row.record.key
        if key is None:
            order.append(row)
            continue
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(row)
    merged = {key: _merge(group) for key, group in groups.items()}
    turns = []
    for item in order:
        if isinstance(item, LoggedRow):
            turns.append(LoggedTurn(record=item.record, source=item.source))
            continue
        row = merged[item]
        thread, turn = item
        following = merged.get((thread, turn + 1))
        previous = merged.get((thread, turn - 1))
        turns.append(
            LoggedTurn(
                record=row.record,
                source=row.source,
                human_replied=following is not None
                and following.record.outcome is Outcome.HUMAN_REPLY,
                previous_answer=previous.record.answer if previous is not None else "",
                previous_question=previous.record.question if previous is not None else "",
                handed_over_next=following is not None
                and following.record.outcome is Outcome.ESCALATED,
            )
        )
    return turns


def _merge(group: list[LoggedRow]) -> LoggedRow:
    # The turn row carries what happened; the ratings and reviews after it add the labels.
    turns = [row for row in group if row.record.kind == "turn"]
    base = turns[0] if turns else group[0]
    update: dict[str, object] = {}
    for name in ("feedback", "comment", "category", "answerable"):
        values = [getattr(row.record, name) for row in group]
        latest = [value for value in values if value is not None]
        if latest:
            update[name] = latest[-1]
    return LoggedRow(source=base.source, record=base.record.model_copy(update=update))


def flywheel_set(rows: Sequence[LoggedRow], policy: TriagePolicy | None = None) -> FlywheelSet:
    """Label the log's turns by the rules in this module's docstring; a reviewed category
    must be one of ``policy`` (default: the shipped one)."""
    policy = policy or shipped_policy()
    result = FlywheelSet()
    for turn in join_turns(rows):
        record = turn.record
        category = record.category
        if category is not None and category not in policy.categories:
            result.cases[UNKNOWN_CATEGORY] += 1
            category = None
        if category is not None:
            result.triage.append(triage_example(record.question, category, turn.source, policy))
        if record.flagged_citations:
            result.cases[FLAGGED] += 1
        case, example = _escalation(turn, category)
        if case is not None:
            result.cases[case] += 1
        if example is not None:
            result.escalation.append(example)
        elif case == REVIEW:
            result.review.append(record)
    return result


def _escalation(turn: LoggedTurn, category: str | None) -> tuple[str | None, ChatExample | None]:
    """(case, example) of one turn; (REVIEW, None) for a hard case nobody has judged."""
    record = turn.record
    if record.outcome is Outcome.HUMAN_REPLY:
        return None, None
    text = record.question
    if record.escalated_by == "customer":
        context = _answered(turn.previous_answer)
        decision = _escalate("human_requested", text)
        return CUSTOMER_HANDOVER, escalation_example(text, context, decision, turn.source, text)
    handed_over = record.outcome is Outcome.ESCALATED
    if record.feedback is not None and not handed_over:
        case = THUMBS_DOWN if record.feedback == "down" else THUMBS_UP
        return case, rated_example(record, turn.source)
    if not (handed_over or record.flagged_citations):
        return None, None
    # The escalate node's context: it saw "no answer" after a search, nothing otherwise.
    context = KB_NO_ANSWER if record.queries else NO_CONTEXT
    confirmed = turn.human_replied or record.feedback == "up"
    if handed_over and confirmed and record.escalation is not None:
        decision = _escalate(record.escalation.reason, text)
        return CONFIRMED_HANDOVER, escalation_example(text, context, decision, turn.source, text)
    if category is not None:
        decision = policy_escalation(text, category)
        return BY_CATEGORY, escalation_example(text, context, decision, turn.source, text)
    return REVIEW, None


def _answered(answer: str) -> str:
    return f"The assistant answered: {condense(answer, 300)}" if answer else NO_CONTEXT


def _escalate(reason: EscalationReason, text: str) -> EscalationDecision:
    """An escalation for `reason` with a summary from the customer's words only."""
    if reason == "none":  # a hand-over always has a reason; an old row may not say it
        reason = "unresolved"
    return EscalationDecision(escalate=True, reason=reason, summary=_summary(reason, text))


def _summary(reason: EscalationReason, text: str) -> str:
    # The lead-ins the other builders use for the same reasons, so the adapter sees one
    # phrasing per reason whichever source an example came from.
    words = condense(text)
    if reason == "human_requested":
        return f"Customer asked for a person. Request: {words}"
    if reason == "unanswerable":
        return f"No answer in the knowledge base. Customer asks: {words}"
    if reason == "unresolved":
        return f"Not resolved by the assistant. Customer wrote: {words}"
    return f"{REASON_PHRASES[reason]}. Customer wrote: {words}"


def build_examples(
    task: Task,
    data_dir: Path,
    logs: Sequence[Path] = (),
    *,
    rows: Sequence[LabelledText] | None = None,
    policy: TriagePolicy | None = None,
) -> list[ChatExample]:
    """All examples of ``task`` from labelled ``rows`` (default: BANKING77 in ``data_dir``)
    and any interaction logs, their replies by ``policy`` (default: the shipped one)."""
    labelled = rows if rows is not None else read_banking77(data_dir / "banking77_train.jsonl")
    logged = [row for path in logs for row in read_log(path, strict=True).rows]
    from_logs = flywheel_set(logged, policy)
    if task == "triage":
        return [*triage_examples(labelled, policy), *from_logs.triage]
    tasks = read_support_tasks(data_dir / "support_qa_dev.jsonl")
    return [*escalation_examples(labelled, tasks, policy=policy), *from_logs.escalation]

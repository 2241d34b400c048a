"""The interaction log's turns worth a reviewer's label, as a labelling file the builders read.

A turn is a hard case when the customer rated it down, when the thread was handed over to a
person right after it answered (the answer did not settle it), or when the citation check
removed a marker or found a sentence unsupported, or when the judge was unsure: the answer was
hedged (its calibrated probability fell between the two thresholds).

Each line of the file is the turn's log row (so `assistant adapters build-data --from-log
FILE` reads the reviewed file as it reads the log) with `reasons`, and four fields for the
reviewer, empty until they fill them: `category` (the triage label; the flywheel turns it into
triage and escalation examples), `feedback` (`up`/`down`: whether the answer was right),
`route` (`search`, `reply` or `human`: what the decide step should have done; `assistant
adapters promote router --data FILE` scores the router on it), and `answerable` (true/false:
whether the knowledge base answers the question; `assistant adapters fit-judge --from-log
FILE` refits the judge on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from assistant.interaction_log import InteractionRecord, LoggedRow
from assistant.jsonl import read_jsonl
from assistant.schemas import Outcome
from assistant.training.flywheel import join_turns
from assistant.training.router_data import ROUTER_LABELS

HardCaseReason = Literal[
    "thumbs down", "handed over after an answer", "citations flagged", "judge unsure"
]
Route = Literal["search", "reply", "human"]
_ANSWERS = (Outcome.ANSWERED, Outcome.HEDGED, Outcome.ANSWERED_DIRECTLY)
assert set(ROUTER_LABELS) == {"search", "reply", "human"}  # Route names the router's labels


class HardCase(InteractionRecord):
    """A logged turn with why it is hard and the reviewer's labels (None until reviewed)."""

    reasons: list[HardCaseReason] = Field(default_factory=list)
    route: Route | None = Field(None, description="Reviewer: what the decide step should do.")


class RoutedText(BaseModel):
    """A reviewed message and the route it should have taken (the router's held-back data)."""

    text: str
    context: str = ""
    route: Route


def hard_cases(rows: Sequence[LoggedRow], *, since: datetime | None = None) -> list[HardCase]:
    """The log's hard cases in log order, each turn once with all its reasons."""
    cases = []
    for turn in join_turns(rows):
        record = turn.record
        if record.kind != "turn" or record.outcome is Outcome.HUMAN_REPLY:
            continue
        if since is not None and (record.at is None or record.at < since):
            continue
        reasons: list[HardCaseReason] = []
        if record.feedback == "down":
            reasons.append("thumbs down")
        if record.outcome in _ANSWERS and turn.handed_over_next:
            reasons.append("handed over after an answer")
        if record.flagged_citations:
            reasons.append("citations flagged")
        if record.outcome is Outcome.HEDGED:
            reasons.append("judge unsure")
        if reasons:
            context = record.context or turn.previous_question
            cases.append(
                HardCase.model_validate(
                    {**record.model_dump(), "reasons": reasons, "context": context}
                )
            )
    return cases


def write_hard_cases(cases: Sequence[HardCase], path: Path) -> None:
    """One JSON object per line; the reviewer's fields are written (empty) even when unset,
    so the file shows what to fill in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for case in cases:
            reviewed = {
                "category": case.category,
                "feedback": case.feedback,
                "route": case.route,
                "answerable": case.answerable,
            }
            row = case.model_dump(mode="json", exclude_none=True) | reviewed
            out.write(HardCase.model_validate(row).model_dump_json(include=set(row)) + "\n")


def read_routed(path: Path) -> list[RoutedText]:
    """The rows of a reviewed labelling file (or any JSONL of `question`/`text`, optional
    `context`, and `route`) that carry a route; rows not yet reviewed are left out."""

    class _Row(BaseModel):
        question: str | None = None
        text: str | None = None
        context: str = ""
        route: Route | None = None

    routed = []
    for _, row in read_jsonl(path, _Row, expected="a labelling file (question, route)"):
        text = row.text or row.question
        if row.route is not None and text:
            routed.append(RoutedText(text=text, context=row.context, route=row.route))
    return routed

"""Judge examples from the interaction log: the turns someone labelled, searched again.

A logged turn that searched gets a label, the first of:

1. a reviewer's `answerable` (true/false) on the turn, in the log or in the reviewed hard-cases
   file (`assistant adapters hard-cases`);
2. the customer's rating of an answered or hedged turn: up = the search answered, down = not;
   up on a declined or handed-over turn = rightly declined (it did not answer);
3. an answered or hedged turn after which the thread was handed over to a person: it did not
   answer (the hard cases' "handed over after an answer").

Other turns carry no label and are left out: a decline rated down may be a gap in the knowledge
base as well as a wrong decline, and only a reviewer can tell. A hand-written row (no thread)
counts when it carries `answerable`: a team can label questions of its own before it has
traffic.

The turn's last query is searched again over the knowledge base as it is now, at the graph's
depth, and read against the question and the customer's message before it, as the grade step
reads them: the head learns what the judge will see next time, even when a document changed
since. A row whose search now finds nothing is left out (there is nothing to judge).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.interaction_log import InteractionRecord, LoggedRow
from assistant.knowledge.search_tool import Retriever
from assistant.schemas import Outcome
from assistant.settings import SearchMode
from assistant.training.flywheel import join_turns
from assistant.training.judge_data import LOG_GROUP, LOGGED, JudgeExample
from assistant.triage.support_qa import follow_up_query
from assistant.turn.evidence import EvidenceReader, spread_features

_ANSWERS = frozenset({Outcome.ANSWERED, Outcome.HEDGED})
_DECLINES = frozenset({Outcome.DECLINED, Outcome.ESCALATED})


@dataclass(frozen=True)
class LoggedJudgements:
    """What the log yielded: the examples, and how many labelled turns gave each label."""

    examples: list[JudgeExample]
    answered: int
    not_answered: int
    skipped: int
    """Labelled turns left out: no query logged, or the search now finds nothing."""


def turn_label(record: InteractionRecord, handed_over_next: bool) -> bool | None:
    """Whether the turn's search answered, as the log says (None: the log does not say)."""
    if record.answerable is not None:
        return record.answerable
    if record.outcome in _ANSWERS:
        if record.feedback is not None:
            return record.feedback == "up"
        if handed_over_next:
            return False
    if record.outcome in _DECLINES and record.feedback == "up":
        return False
    return None


def logged_judgements(
    rows: Sequence[LoggedRow],
    retriever: Retriever,
    reader: EvidenceReader,
    *,
    tenant: str,
    k: int,
    mode: SearchMode,
) -> LoggedJudgements:
    """The labelled turns of `rows` (one log or several, ratings joined to their turns) as
    judge examples of kind `LOGGED`, grouped by thread so folds keep a thread together."""
    examples: list[JudgeExample] = []
    counts = {True: 0, False: 0}
    skipped = 0
    for turn in join_turns(rows):
        record = turn.record
        if record.key is None:
            # A hand-written row, `{question, context?, answerable}`: a reviewer's own question
            # and label (a team can write these before it has traffic); searched as the graph
            # would search it.
            if record.answerable is None:
                continue
            label, group = record.answerable, record.question
            queries = [follow_up_query(record.context, record.question)]
        elif record.kind == "turn":
            group = record.key[0]
            found = turn_label(record, turn.handed_over_next)
            if found is None:
                continue
            label, queries = found, record.queries
        else:
            continue
        chunks = (
            retriever.search(queries[-1], tenant=record.tenant or tenant, k=k, mode=mode)
            if queries
            else []
        )
        if not chunks:
            skipped += 1
            continue
        evidence = reader.read(record.question, record.context, chunks)
        examples.append(
            JudgeExample(
                conversation=f"{LOG_GROUP}{group}",
                kind=LOGGED,
                features=evidence.features,
                spread=spread_features(evidence),
                chunk_labels=np.zeros(len(chunks), dtype=bool),
                answers=label,
                question=record.question,
                context=record.context,
                chunk_texts=tuple(c.text for c in chunks),
            )
        )
        counts[label] += 1
    return LoggedJudgements(examples, counts[True], counts[False], skipped)

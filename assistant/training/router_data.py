"""Router examples from real labels: what the decide step should do with a message.

- MTRAG-UN tasks (`question`, `history`, `answerability`): every class -> `search`. The
  judgement then answers, declines, or asks which one the customer means: a vague question is
  told apart better with what its search found (the judge's clarify head) than before it.
- CLINC150 (`clinc150_train.jsonl`): the `small_talk` domain -> `reply`; out-of-scope rows
  (`oos`) -> `search`, so the judgement declines them; a sample of the other domains'
  requests -> `search`.
- BANKING77 by the policy table: `urgent` intents (money or the account at risk right now, always
  a human) -> `human`, the others -> `search` (a question about a refund is looked up; triage
  still flags that it needs a person);
  one message in `HUMAN_REQUEST_EVERY` also comes with a request for a person attached
  (`assistant.triage.examples.HUMAN_REQUEST_PHRASES`) -> `human`.

Each example keeps a group (the MTRAG conversation, or the text), so folds never split one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from assistant.evaluation.datasets import SupportQuestion
from assistant.jsonl import read_jsonl
from assistant.policy import policy_for
from assistant.triage.examples import (
    LabelledText,
    text_hash,
    with_human_request,
)

ROUTER_LABELS: tuple[str, ...] = ("search", "reply", "human")
# Rows kept per intent from the large classification sets, so they do not drown the few
# hundred task questions (the balanced class weights do the rest).
PER_INTENT = 12


@dataclass(frozen=True)
class RouterExample:
    text: str
    context: str
    label: str
    group: str
    source: str
    origin: str
    """`tasks` (MTRAG-UN), `clinc` or `banking`: the router's margin is set on `tasks`."""


class _ClincRow(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(pattern=r"\S")
    label: str
    domain: str


def task_examples(questions: Iterable[SupportQuestion]) -> list[RouterExample]:
    return [
        RouterExample(
            text=q.question,
            context=q.previous_question,
            label="search",
            group=q.conversation,
            source=q.source,
            origin="tasks",
        )
        for q in questions
    ]


def clinc_examples(path: Path, *, per_intent: int = PER_INTENT) -> list[RouterExample]:
    rows = read_jsonl(path, _ClincRow, expected="CLINC150 rows `{text, label, domain}`")
    examples = []
    for number, row in _sample(rows, per_intent, keep_all=frozenset({"oos"})):
        label = "reply" if row.domain == "small_talk" else "search"
        examples.append(
            RouterExample(row.text, "", label, row.text, f"{path.name}:{number}", "clinc")
        )
    return examples


def small_talk_rows(path: Path) -> list[tuple[str, str]]:
    """(text, intent) of CLINC150's `small_talk` domain: what the small-talk head learns."""
    rows = read_jsonl(path, _ClincRow, expected="CLINC150 rows `{text, label, domain}`")
    return [(row.text, row.label) for _, row in rows if row.domain == "small_talk"]


def banking_examples(
    banking: Sequence[LabelledText], *, per_intent: int = PER_INTENT
) -> list[RouterExample]:
    examples = []
    for _, row in _sample(list(enumerate(banking, 1)), per_intent):
        label = "human" if policy_for(row.label).priority == "urgent" else "search"
        examples.append(RouterExample(row.text, "", label, row.text, row.source, "banking"))
    # Requests for a person are drawn from every row, not only the sample above.
    for row in banking:
        if (message := with_human_request(row.text)) is not None:
            examples.append(
                RouterExample(message, "", "human", row.text, row.source + "+person", "banking")
            )
    return examples


class _Labelled(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def label(self) -> str: ...


L = TypeVar("L", bound=_Labelled)


def _sample(
    rows: Sequence[tuple[int, L]], per_intent: int, keep_all: frozenset[str] = frozenset()
) -> list[tuple[int, L]]:
    """At most `per_intent` rows of each label (every row of `keep_all`), chosen by text hash
    so the sample is the same on every machine; in file order."""
    by_label: dict[str, list[tuple[int, L]]] = defaultdict(list)
    for number, row in rows:
        by_label[row.label].append((number, row))
    chosen = []
    for label, group in by_label.items():
        ranked = sorted(group, key=lambda item: text_hash(item[1].text))
        chosen.extend(group if label in keep_all else ranked[:per_intent])
    return sorted(chosen, key=lambda item: item[0])

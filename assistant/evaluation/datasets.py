"""Evaluation inputs: JSONL files read into typed rows; every problem names its file and line.

Formats (docs/evaluation.md):

- support QA (`retrieval`, `answers`): `question`, `doc_ids`, `answerability`, optional
  `history` (`[{role, text}]`), `answer` (the reference; the `answers` suite needs it), `qid`;
  read by `assistant.triage.support_qa`, whose `load_support_qa` and rows this module re-exports.
- triage / escalation: BANKING77 rows `{text, label}`, MTRAG support tasks (a support QA file;
  escalation only), or chat examples as `assistant adapters data` writes them.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from assistant.errors import InputError
from assistant.jsonl import read_jsonl
from assistant.policy import shipped_policy
from assistant.schemas import ChatExample, Task
from assistant.triage.examples import (
    LabelledText,
    SupportTask,
    escalation_examples,
    read_banking77,
    read_support_tasks,
    split,
    triage_examples,
)
from assistant.triage.support_qa import SupportQuestion as SupportQuestion
from assistant.triage.support_qa import Turn as Turn
from assistant.triage.support_qa import load_support_qa as load_support_qa

T = TypeVar("T")


class Fold(BaseModel):
    """Fold `index` of `of`: the conversations whose id hashes to it, the same on every machine.

    Heads fitted with `--hold-out I/K` never see fold I's conversations, and `assistant eval
    answers --fold I/K` scores only them, so a task file can be both trained on and scored.
    """

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=1)
    of: int = Field(ge=2)

    @classmethod
    def parse(cls, text: str) -> Fold:
        """`I/K`, e.g. `2/5`; a clear `InputError` otherwise."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or not 1 <= int(match[1]) <= int(match[2]) or int(match[2]) < 2:
            raise InputError(f"{text!r}: a fold is I/K with 1 <= I <= K and K >= 2, e.g. 2/5")
        return cls(index=int(match[1]), of=int(match[2]))

    def holds(self, conversation: str) -> bool:
        """Whether the conversation (`SupportQuestion.conversation`) is in this fold."""
        digest = hashlib.sha256(conversation.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.of == self.index - 1

    def __str__(self) -> str:
        return f"{self.index}/{self.of}"


# --- triage and escalation --------------------------------------------------------------------

ClassificationFormat = Literal["banking77", "support_qa", "chat_examples"]


def detect_format(path: Path) -> ClassificationFormat:
    """Which kind of classification file `path` is, from the fields of its first row."""
    try:
        with path.open(encoding="utf-8") as handle:
            first = next((line for line in handle if line.strip()), "")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    try:
        row = json.loads(first) if first else None
    except ValueError as exc:
        raise InputError(f"{path}:1: not valid JSON ({exc})") from exc
    keys = set(row) if isinstance(row, dict) else set()
    if "messages" in keys:
        return "chat_examples"
    if {"text", "label"} <= keys:
        return "banking77"
    if {"question", "answerability"} <= keys:
        return "support_qa"
    raise InputError(
        f"{path}:1: not a triage/escalation file: expected BANKING77 rows `{{text, label}}`, "
        "support QA rows `{question, answerability, ...}` or chat examples `{task, messages}` "
        f"(found fields {sorted(keys)})"
    )


def load_chat_examples(path: Path, task: Task) -> list[ChatExample]:
    """Chat examples written by `assistant adapters data`, all of `task`."""
    examples = []
    expected = f"{task} chat examples `{{task, messages, source, key}}`"
    for number, example in read_jsonl(path, ChatExample, expected=expected):
        if example.task != task:
            raise InputError(f"{path}:{number}: a {example.task} example in a {task} evaluation")
        examples.append(example)
    return examples


def _banking_rows(path: Path) -> list[LabelledText]:
    rows = read_banking77(path)
    for row in rows:
        if row.label not in shipped_policy().categories:
            line = row.source.rsplit(":", 1)[-1]
            raise InputError(
                f"{path}:{line}: unknown label {row.label!r} (not one of the 77 BANKING77 "
                "intents of assistant/adapters/policies/banking77.yaml)"
            )
    return rows


def load_classification(
    paths: Sequence[Path], task: Task
) -> tuple[list[ChatExample], list[ChatExample]]:
    """(train, dev) examples of `task` built from `paths` as the adapters' data builder does.

    Only dev is scored: its texts were held out of the adapters' training. Train feeds the
    embedding baseline. Repeats are dropped from dev (the builder repeats support tasks to
    weight them in training; scoring a repeat again would only weight it in the mean).
    """
    banking: list[LabelledText] = []
    tasks: list[SupportTask] = []
    ready: list[ChatExample] = []
    for path in paths:
        kind = detect_format(path)
        if kind == "banking77":
            banking.extend(_banking_rows(path))
        elif kind == "support_qa":
            if task == "triage":
                raise InputError(
                    f"{path}: support QA rows have no triage labels; give BANKING77 rows "
                    "`{text, label}` or triage chat examples"
                )
            tasks.extend(read_support_tasks(path))
        else:
            ready.extend(load_chat_examples(path, task))
    built = triage_examples(banking) if task == "triage" else escalation_examples(banking, tasks)
    train, dev = split([*built, *ready])
    seen: set[tuple[str, ...]] = set()
    unique = []
    for example in dev:
        turns = tuple(turn.content for turn in example.messages)
        if turns not in seen:
            seen.add(turns)
            unique.append(example)
    if not unique:
        raise InputError(
            f"no {task} examples of the dev hold-out in {', '.join(map(str, paths))}: only "
            "held-out texts are scored"
        )
    return train, unique


def sample(items: Sequence[T], limit: int | None, seed: int) -> list[T]:
    """Up to `limit` of `items`, drawn with `seed`, kept in their original order.

    The same seed draws the same items on every machine (Python's `random` is stable for a
    given seed), so a run with `--limit` can be repeated exactly.
    """
    if limit is None or limit >= len(items):
        return list(items)
    chosen = sorted(random.Random(seed).sample(range(len(items)), limit))
    return [items[i] for i in chosen]


def corpus_subset(corpus: Path, questions: Sequence[SupportQuestion], docs: int) -> list[str]:
    """JSONL lines of `corpus` (an MTRAG-style passage file): the questions' gold passages and
    the first `docs` others, the small index a benchmark or replay answers them over."""
    gold = {doc for q in questions for doc in q.doc_ids}
    lines = corpus.read_text(encoding="utf-8").splitlines()
    picked = [line for line in lines if json.loads(line)["doc_id"] in gold]
    others = [line for line in lines if json.loads(line)["doc_id"] not in gold]
    return picked + others[:docs]

"""Support QA files (MTRAG support tasks): the one reader and row model of their JSONL rows.

A row: `question`, `doc_ids`, `answerability`, optional `history` (`[{role, text}]`),
`answer` (the reference) and `qid` (docs/evaluation.md). The evaluation scores them
(`assistant.evaluation.datasets`), the heads' training data is built from them
(`assistant.training`), and the escalation builder reads their answerability
(`assistant.triage.examples.read_support_tasks`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.errors import InputError
from assistant.jsonl import read_jsonl

Answerability = Literal["ANSWERABLE", "PARTIAL", "UNANSWERABLE", "UNDERSPECIFIED"]


class Turn(BaseModel):
    """An earlier turn of the conversation."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["user", "agent", "assistant"]
    text: str


def previous_user_turn(history: Iterable[Turn]) -> str:
    """The text of the last user turn of `history` ('' when there is none): what a follow-up
    question leans on."""
    users = [turn.text for turn in history if turn.role == "user"]
    return users[-1] if users else ""


def follow_up_query(previous: str, question: str) -> str:
    """The search query of `question`: after the `previous` user turn, on which follow-up
    questions lean (as the graph searches)."""
    return f"{previous} {question}".strip()


class SupportQuestion(BaseModel):
    """One support question with its gold documents and what the assistant should do."""

    model_config = ConfigDict(extra="ignore")

    qid: str | None = None
    question: str = Field(min_length=1)
    history: list[Turn] = Field(default_factory=list)
    doc_ids: list[str]
    answerability: Answerability
    answer: str | None = Field(None, description="The reference answer.")
    source: str = Field("", description="file:line, filled in by the loader.")

    @property
    def id(self) -> str:
        return self.qid or self.source

    @property
    def conversation(self) -> str:
        """MTRAG ids are `conversation<::>turn`; a row without one is its own conversation."""
        return self.id.split("<::>")[0]

    @property
    def previous_question(self) -> str:
        """The user's turn before this one ('' when the question opens the conversation)."""
        return previous_user_turn(self.history)

    def search_query(self, with_history: bool = True) -> str:
        """The question, after the previous user turn: follow-up questions lean on it."""
        return follow_up_query(self.previous_question if with_history else "", self.question)


SUPPORT_QA = "support QA rows with `question`, `doc_ids` and `answerability`"


def load_support_qa(path: Path, *, need_reference: bool = False) -> list[SupportQuestion]:
    """The questions of a support QA file; with `need_reference`, each must have `answer`."""
    questions = []
    for number, row in read_jsonl(path, SupportQuestion, expected=SUPPORT_QA):
        if need_reference and not (row.answer or "").strip():
            raise InputError(
                f"{path}:{number}: missing field `answer` (the answers suite scores against "
                "a reference answer)"
            )
        questions.append(row.model_copy(update={"source": f"{path.name}:{number}"}))
    return questions

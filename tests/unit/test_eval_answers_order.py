"""`evaluate_answers` starts each variant fresh, so the variants' seconds compare."""

from __future__ import annotations

from collections.abc import Callable

from rich.progress import Progress

from assistant.evaluation.answers import RawAnswer, evaluate_answers
from assistant.evaluation.datasets import SupportQuestion
from assistant.schemas import Outcome


def test_each_variant_starts_fresh_before_its_first_question() -> None:
    events: list[str] = []

    def answerer(name: str) -> Callable[[SupportQuestion], RawAnswer]:
        def answer(question: SupportQuestion) -> RawAnswer:
            events.append(f"{name}:{question.question}")
            return RawAnswer(text="Sorry.", outcome=Outcome.DECLINED, searched=True)

        return answer

    questions = [
        SupportQuestion(qid=f"q<::>{n}", question=f"q{n}", doc_ids=[], answerability="UNANSWERABLE")
        for n in (1, 2)
    ]
    with Progress(disable=True) as progress:
        rows, _, _ = evaluate_answers(
            questions,
            {"rag": answerer("rag"), "no-hedge": answerer("no-hedge")},
            progress=progress,
            fresh_start=lambda: events.append("fresh"),
        )
    assert events == ["fresh", "rag:q1", "rag:q2", "fresh", "no-hedge:q1", "no-hedge:q2"]
    assert [r.variant for r in rows] == ["rag", "no-hedge"]

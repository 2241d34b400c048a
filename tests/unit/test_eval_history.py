"""`assistant eval answers` (and the experiment replay) ask each question after its
conversation's earlier turns: the seeded history is in the thread the turn runs on."""

from __future__ import annotations

from pathlib import Path

from doubles import ListRetriever, ScriptedChatModel

from assistant.evaluation.answers import seed_history
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer
from assistant.triage.support_qa import SupportQuestion, Turn


class ClosableRetriever(ListRetriever):
    embedder = None  # the cosine gate and the model's choices, as in test_service

    def close(self) -> None:
        pass


def test_the_earlier_turns_are_in_the_thread_the_question_is_asked_on(
    settings: Settings, tmp_path: Path
) -> None:
    settings.adapters_dir = tmp_path / "no-adapters"
    settings.verify_citations = "off"
    assistant = Assistant(
        settings,
        store=ClosableRetriever([]),  # type: ignore[arg-type]
        model=ScriptedChatModel(respond=lambda prompt: "search"),
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )
    question = SupportQuestion(
        qid="c1<::>2",
        question="And how long does that take?",
        history=[
            Turn(role="user", text="How do I close my account?"),
            Turn(role="agent", text="Open Settings and choose Close account."),
        ],
        doc_ids=[],
        answerability="UNANSWERABLE",
    )
    seed_history(assistant, "t-1", question)
    answer = assistant.ask(question.question, thread_id="t-1")
    # The turn ran after the seeded turns: its search leaned on the earlier user turn, and
    # the thread holds the whole conversation.
    assert answer.queries and "How do I close my account?" in answer.queries[0]
    texts = [m.text for m in assistant.thread_values("t-1")["messages"]]
    assert texts[:3] == [
        "How do I close my account?",
        "Open Settings and choose Close account.",
        "And how long does that take?",
    ]
    assistant.checkpointer.conn.close()

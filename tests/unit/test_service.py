"""The service's thread handling: hand-off to a human, resume, refusals, ratings."""

from __future__ import annotations

from pathlib import Path

import pytest
from doubles import ListRetriever, ScriptedChatModel
from pydantic import ValidationError
from replicas import hand_overs_in, race_to_hand_over

from assistant.errors import AlreadyWithHumanError, InputError, ThreadNotFoundError
from assistant.interaction_log import read_log
from assistant.schemas import Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer


class ClosableRetriever(ListRetriever):
    # A store without an embedder: the graph falls back to the cosine gate and the model's
    # choices (the router, the judge and extractive answers need the embedder).
    embedder = None

    def close(self) -> None:
        pass


def replica(settings: Settings, tmp_path: Path, decision: str = "human") -> Assistant:
    """An assistant over the thread store in `settings.data_dir`, with its own connection and
    its own locks: one process of several sharing the folder."""
    settings.adapters_dir = tmp_path / "no-adapters"
    settings.verify_citations = "off"  # the retriever double has no embedder to check with
    model = ScriptedChatModel(respond=lambda prompt: decision)
    return Assistant(
        settings,
        store=ClosableRetriever([]),  # type: ignore[arg-type]
        model=model,
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )


@pytest.fixture
def assistant(settings: Settings, tmp_path: Path) -> Assistant:
    return replica(settings, tmp_path)


def test_a_handed_over_thread_resumes_with_the_humans_reply(assistant: Assistant) -> None:
    handed = assistant.ask("Let me talk to a person")
    assert handed.outcome is Outcome.ESCALATED
    assert handed.escalation is not None and handed.escalation.escalate

    replied = assistant.resume(handed.thread_id or "", "Hello, this is Sam.")
    assert replied.outcome is Outcome.HUMAN_REPLY
    assert replied.text == "Hello, this is Sam."
    assert replied.thread_id == handed.thread_id


def test_a_later_turn_does_not_carry_an_earlier_hand_over(
    settings: Settings, tmp_path: Path
) -> None:
    decisions = ["human", "reply"]
    settings.adapters_dir = tmp_path / "no-adapters"
    settings.verify_citations = "off"
    assistant = Assistant(
        settings,
        store=ClosableRetriever([]),  # type: ignore[arg-type]
        model=ScriptedChatModel(respond=lambda prompt: decisions[0]),
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )
    handed = assistant.ask("Let me talk to a person")
    assert handed.escalation is not None
    assistant.resume(handed.thread_id or "", "Hello, this is Sam.")
    decisions.pop(0)
    later = assistant.ask("Thanks. And how do I export my data?", thread_id=handed.thread_id)
    assert later.outcome is not Outcome.ESCALATED
    assert later.escalation is None


def test_asking_on_a_thread_that_waits_for_a_human_is_refused(assistant: Assistant) -> None:
    handed = assistant.ask("Let me talk to a person")
    with pytest.raises(InputError, match="waits for a human"):
        assistant.ask("Hello?", thread_id=handed.thread_id)


def test_resuming_a_thread_that_is_not_waiting_is_refused(assistant: Assistant) -> None:
    handed = assistant.ask("Let me talk to a person")
    assistant.resume(handed.thread_id or "", "Hello, this is Sam.")
    with pytest.raises(InputError, match="not waiting"):
        assistant.resume(handed.thread_id or "", "Hello again")
    with pytest.raises(ThreadNotFoundError, match="no thread 'no-such-thread'"):
        assistant.resume("no-such-thread", "Hello")


@pytest.mark.parametrize("reply", ["", "  "])
def test_an_empty_human_reply_is_refused(assistant: Assistant, reply: str) -> None:
    handed = assistant.ask("Let me talk to a person")
    with pytest.raises(InputError, match="empty"):
        assistant.resume(handed.thread_id or "", reply)


def test_two_replicas_racing_to_hand_over_one_thread_hand_it_over_once(
    settings: Settings, tmp_path: Path
) -> None:
    first = replica(settings, tmp_path, decision="search")
    second = replica(settings, tmp_path, decision="search")
    thread = first.ask("What are your opening hours?").thread_id or ""
    assert not first.waiting_for_human(thread)

    assert race_to_hand_over((first, second), thread) == ["handed", "refused"]
    assert second.waiting_for_human(thread)
    assert hand_overs_in(second, thread) == 1
    # The thread resumes as after any hand-over.
    assert second.resume(thread, "Sam here.").outcome is Outcome.HUMAN_REPLY


def test_handing_over_an_unknown_thread_or_twice_says_which(assistant: Assistant) -> None:
    with pytest.raises(ThreadNotFoundError, match="no thread"):
        assistant.hand_over("no-such-thread")
    handed = assistant.ask("Let me talk to a person")
    with pytest.raises(AlreadyWithHumanError, match="already with a human"):
        assistant.hand_over(handed.thread_id or "")


def test_a_rating_is_logged_beside_the_turn_it_rates(assistant: Assistant) -> None:
    handed = assistant.ask("Let me talk to a person")
    thread = handed.thread_id or ""
    assistant.resume(thread, "Sam here.")

    latest = assistant.rate(thread, "up", comment="quick")
    first = assistant.rate(thread, "down", turn=0)

    assert (latest.turn, latest.answer, latest.outcome) == (1, "Sam here.", Outcome.HUMAN_REPLY)
    assert (first.turn, first.answer) == (0, handed.text)
    assert first.question == latest.question == "Let me talk to a person"
    logged = read_log(assistant.settings.interaction_log_path, strict=True).rows
    ratings = [row.record for row in logged if row.record.kind == "feedback"]
    assert [(r.feedback, r.turn, r.comment) for r in ratings] == [
        ("up", 1, "quick"),
        ("down", 0, None),
    ]
    with pytest.raises(ThreadNotFoundError, match="no answer 2"):
        assistant.rate(thread, "up", turn=2)
    with pytest.raises(ThreadNotFoundError, match="no answered turn"):
        assistant.rate("no-such-thread", "up")


def test_an_assistant_choosing_other_turn_choices_runs_them_on_the_same_graph(
    settings: Settings, tmp_path: Path
) -> None:
    assistant = replica(settings, tmp_path, decision="search")
    store: ClosableRetriever = assistant.store  # type: ignore[assignment]
    chosen = assistant.choosing({"top_k": 2, "search_mode": "dense"})
    assert chosen.graph is assistant.graph

    chosen.ask("What are your opening hours?")
    assistant.ask("What are your opening hours?")
    assert store.options == [(2, "dense"), (settings.top_k, settings.search_mode)]
    with pytest.raises(ValueError, match="backend: not a choice of the turn"):
        assistant.choosing({"backend": "openai"})
    with pytest.raises(ValidationError, match="top_k"):
        assistant.choosing({"top_k": 0})

"""The service's thread handling: hand-off to a human, resume, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from doubles import ListRetriever, ScriptedChatModel

from assistant.errors import InputError
from assistant.schemas import Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.threads import open_checkpointer


class ClosableRetriever(ListRetriever):
    # A store without an embedder: the graph falls back to the cosine gate and the model's
    # choices (the router, the judge and extractive answers need the embedder).
    embedder = None

    def close(self) -> None:
        pass


@pytest.fixture
def assistant(settings: Settings, tmp_path: Path) -> Assistant:
    settings.adapters_dir = tmp_path / "no-adapters"
    settings.verify_citations = "off"  # the retriever double has no embedder to check with
    model = ScriptedChatModel(respond=lambda prompt: "human")
    return Assistant(
        settings,
        store=ClosableRetriever([]),  # type: ignore[arg-type]
        model=model,
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )


def test_a_handed_over_thread_resumes_with_the_humans_reply(assistant: Assistant) -> None:
    handed = assistant.ask("Let me talk to a person")
    assert handed.outcome is Outcome.ESCALATED
    assert handed.escalation is not None and handed.escalation.escalate

    replied = assistant.resume(handed.thread_id or "", "Hello, this is Sam.")
    assert replied.outcome is Outcome.HUMAN_REPLY
    assert replied.text == "Hello, this is Sam."
    assert replied.thread_id == handed.thread_id


def test_asking_on_a_thread_that_waits_for_a_human_is_refused(assistant: Assistant) -> None:
    handed = assistant.ask("Let me talk to a person")
    with pytest.raises(InputError, match="waits for a human"):
        assistant.ask("Hello?", thread_id=handed.thread_id)


def test_resuming_a_thread_that_is_not_waiting_is_refused(assistant: Assistant) -> None:
    with pytest.raises(InputError, match="not waiting"):
        assistant.resume("no-such-thread", "Hello")


@pytest.mark.parametrize("reply", ["", "  "])
def test_an_empty_human_reply_is_refused(assistant: Assistant, reply: str) -> None:
    handed = assistant.ask("Let me talk to a person")
    with pytest.raises(InputError, match="empty"):
        assistant.resume(handed.thread_id or "", reply)

"""Threads shared through PostgreSQL, as several API replicas share them: a real server from the
machine's Debian packages, started and stopped by the tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from doubles import ListRetriever, ScriptedChatModel
from postgres_server import find_bin_dir, running_postgres
from pydantic import SecretStr
from replicas import hand_overs_in, race_to_hand_over

from assistant.errors import ThreadStoreUnavailableError
from assistant.schemas import Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_thread_store, store_rows


class ClosableRetriever(ListRetriever):
    # A store without an embedder: the graph falls back to the cosine gate and the model's
    # choices (the router, the judge and extractive answers need the embedder).
    embedder = None

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    with running_postgres(bin_dir) as url:
        yield url


def replica(
    settings: Settings, url: str, tmp_path: Path, name: str, decision: str = "human"
) -> Assistant:
    """One API replica: its own data folder, the shared thread store."""
    own = settings.model_copy(
        update={
            "threads_url": SecretStr(url),
            "data_dir": tmp_path / name,
            "adapters_dir": tmp_path / "no-adapters",
            # The retriever double has no embedder to check answer sentences with.
            "verify_citations": "off",
        }
    )
    return Assistant(
        own,
        store=ClosableRetriever([]),  # type: ignore[arg-type]
        model=ScriptedChatModel(respond=lambda prompt: decision),
        checkpointer=open_thread_store(own),
    )


def test_a_thread_handed_over_on_one_replica_resumes_on_another(
    settings: Settings, postgres_url: str, tmp_path: Path
) -> None:
    first = replica(settings, postgres_url, tmp_path, "a")
    second = replica(settings, postgres_url, tmp_path, "b")
    try:
        handed = first.ask("Let me talk to a person")
        assert handed.outcome is Outcome.ESCALATED
        thread = handed.thread_id or ""

        replied = second.resume(thread, "Hello, this is Sam.")
        assert replied.outcome is Outcome.HUMAN_REPLY
        assert replied.text == "Hello, this is Sam."
        # The first replica sees the turn the second one finished.
        messages = first.thread_values(thread)["messages"]
        assert [m.content for m in messages][-1] == "Hello, this is Sam."
        assert not (tmp_path / "a" / "threads.sqlite").exists()
    finally:
        first.close()
        second.close()


def test_two_replicas_racing_to_hand_over_one_thread_hand_it_over_once(
    settings: Settings, postgres_url: str, tmp_path: Path
) -> None:
    first = replica(settings, postgres_url, tmp_path, "a", decision="search")
    second = replica(settings, postgres_url, tmp_path, "b", decision="search")
    try:
        thread = first.ask("What are your opening hours?").thread_id or ""
        assert race_to_hand_over((first, second), thread) == ["handed", "refused"]
        assert hand_overs_in(second, thread) == 1
        assert first.waiting_for_human(thread)
    finally:
        first.close()
        second.close()


def test_the_store_survives_a_reconnect(
    settings: Settings, postgres_url: str, tmp_path: Path
) -> None:
    first = replica(settings, postgres_url, tmp_path, "a")
    thread = first.ask("Let me talk to a person").thread_id or ""
    first.close()

    again = replica(settings, postgres_url, tmp_path, "a")
    try:
        assert again.thread_values(thread)["answer"].outcome is Outcome.ESCALATED
    finally:
        again.close()


def test_an_unreachable_server_is_a_clear_error(settings: Settings) -> None:
    settings.threads_url = SecretStr("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(ThreadStoreUnavailableError, match="cannot reach the PostgreSQL"):
        open_thread_store(settings)


def test_erasure_and_retention_delete_threads_from_every_postgres_table(
    settings: Settings, postgres_url: str, tmp_path: Path
) -> None:
    first = replica(settings, postgres_url, tmp_path, "a", decision="search")
    try:
        anna = (
            first.ask("Can Anna change the locker for parcel PELICAN-5520?", user="anna").thread_id
            or ""
        )
        first.ask("And now?", thread_id=anna)  # a later turn without the user is hers too
        ben = first.ask("Ben's parcel is late", user="ben").thread_id or ""
        tables = ("checkpoints", "checkpoint_blobs", "checkpoint_writes")

        def rows_of(thread: str) -> int:
            key = first.owner().key(thread)
            return sum(
                int(
                    store_rows(
                        first.checkpointer, f"SELECT count(*) FROM {t} WHERE thread_id = %s", (key,)
                    )[0][0]
                )  # type: ignore[arg-type]
                for t in tables
            )

        assert rows_of(anna) > 0
        erased = first.forget_user("anna")
        assert erased.threads == [anna]
        assert rows_of(anna) == 0 and rows_of(ben) > 0
        assert not first.thread_values(anna)

        first.eraser.retention = timedelta(days=30)
        key = first.owner().key(ben)
        idle_since = first.eraser.last_activity()[key]
        assert key not in first.eraser.prune_expired(now=idle_since + timedelta(days=29))
        assert key in first.eraser.prune_expired(now=idle_since + timedelta(days=31))
        assert rows_of(ben) == 0
    finally:
        first.close()

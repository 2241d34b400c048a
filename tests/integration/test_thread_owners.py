"""One owner per thread, and the threads' retention and erasure, through the real API and MCP
server over a real SQLite thread store, lock files and interaction log.

Two tenants that pick the same thread id get two threads: while one tenant's turn runs (held
in the model), the other's message under that id is answered at once, from its own thread; the
store (`ThreadOwner.key`) and the owner check under the thread's lock keep them apart.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from doubles import DECIDE_MARK, ListRetriever, ScriptedChatModel, chunk, script
from fastapi.testclient import TestClient
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from typer.testing import CliRunner

from assistant.errors import InputError, ThreadNotFoundError
from assistant.graph.state import new_turn
from assistant.interaction_log import read_log
from assistant.interfaces.api.app import create_app
from assistant.interfaces.cli.main import app as cli
from assistant.interfaces.mcp.server import build_mcp_server
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import (
    LOCK_STRIPES,
    _lock_key,
    namespace_legacy_threads,
    open_checkpointer,
)

KEYS = {"key-acme": "acme", "key-globex": "globex"}
A = {"X-API-Key": "key-acme"}
B = {"X-API-Key": "key-globex"}
A_SECRET = "My account number is ACME-ZEBRA-7731, why was I charged twice?"
B_QUESTION = "Where is my Globex parcel?"


class ClosableRetriever(ListRetriever):
    # A store without an embedder (as in test_thread_store_postgres.py): the graph falls back
    # to the cosine gate and the model's choices.
    embedder = None

    def close(self) -> None:
        pass


class HeldModel:
    """The model's replies (`doubles.script`), except that the decide step of a question
    holding `hold` waits for `release`: a turn that stays in progress as long as the test
    wants, with `started` set once it is."""

    def __init__(self) -> None:
        self.hold: str | None = None
        self.started = threading.Event()
        self.release = threading.Event()
        self.reply = script("search")

    def __call__(self, prompt: str) -> str:
        if self.hold is not None and self.hold in prompt and DECIDE_MARK in prompt:
            self.started.set()
            assert self.release.wait(60), "the test never released the held turn"
        return self.reply(prompt)


def open_assistant(settings: Settings, tmp_path: Path, model: HeldModel) -> Assistant:
    settings.serve_api_keys = KEYS
    settings.adapters_dir = tmp_path / "no-adapters"
    settings.answer_mode = "generative"
    settings.verify_citations = "off"  # the retriever double has no embedder to check with
    # As behind a model server and a Qdrant server: turns then run side by side (the API does
    # not serialise them), which is where one tenant's turn could hold another's thread.
    settings.qdrant_url = "http://127.0.0.1:6333"
    assistant = Assistant(
        settings,
        store=ClosableRetriever([chunk(1, tenant="acme"), chunk(2, tenant="globex")]),  # type: ignore[arg-type]
        model=ScriptedChatModel(respond=model),
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )
    assert not assistant.needs_exclusive_use
    return assistant


@pytest.fixture
def model() -> Iterator[HeldModel]:
    held = HeldModel()
    yield held
    held.release.set()  # a failed test must not leave a turn waiting


@pytest.fixture
def assistant(settings: Settings, tmp_path: Path, model: HeldModel) -> Iterator[Assistant]:
    opened = open_assistant(settings, tmp_path, model)
    yield opened
    opened.close()


@pytest.fixture
def client(assistant: Assistant, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, assistant=assistant)) as test_client:
        yield test_client


def shared_id() -> str:
    """A thread id whose two owners' keys fall in different lock stripes (lock files are
    striped: two keys of one stripe wait for each other, by design, for seconds)."""
    for n in range(1001, 1100):
        thread = f"ticket-{n}"
        a, b = (_lock_key(f"api/{t}/{thread}") % LOCK_STRIPES for t in ("acme", "globex"))
        if a != b:
            return thread
    raise AssertionError("no id in range with distinct stripes")


def human_texts(assistant: Assistant, thread: str, tenant: str) -> list[str]:
    messages = assistant.thread_values(thread, tenant=tenant).get("messages", [])
    return [m.text for m in messages if m.type == "human"]


# --- one owner per thread ---------------------------------------------------------------


def test_two_tenants_racing_on_one_thread_id_through_the_api_each_keep_their_own(
    client: TestClient, assistant: Assistant, model: HeldModel
) -> None:
    thread = shared_id()
    model.hold = A_SECRET
    pool = ThreadPoolExecutor(1)
    try:
        # A's first turn on the id is in progress (its checkpoint is written, its lock held)...
        a_first = pool.submit(
            client.post, "/v1/chat", json={"message": A_SECRET, "thread_id": thread}, headers=A
        )
        assert model.started.wait(30)
        # ...when B posts to the same id: answered now, from B's own new thread. Not a 404
        # (which would tell B the id is taken), not a wait on A's lock, not A's conversation.
        b_first = client.post(
            "/v1/chat", json={"message": B_QUESTION, "thread_id": thread}, headers=B
        )
        assert not a_first.done(), "B was answered only once A's turn ended"
        assert b_first.status_code == 200, b_first.text
        assert b_first.json()["thread_id"] == thread
        assert not any("ZEBRA" in q for q in b_first.json()["queries"])
        unused = client.post(
            "/v1/chat", json={"message": B_QUESTION, "thread_id": "ticket-new"}, headers=B
        )
        assert (unused.status_code, sorted(unused.json())) == (200, sorted(b_first.json()))
        model.hold = None
        model.release.set()
        assert a_first.result(timeout=60).status_code == 200
    finally:
        model.release.set()
        pool.shutdown()

    # Each continues its own conversation, and the other's stays out of it.
    a_again = client.post(
        "/v1/chat", json={"message": "And the refund?", "thread_id": thread}, headers=A
    )
    b_again = client.post("/v1/chat", json={"message": "Any news?", "thread_id": thread}, headers=B)
    assert a_again.status_code == b_again.status_code == 200
    assert human_texts(assistant, thread, "acme") == [A_SECRET, "And the refund?"]
    assert human_texts(assistant, thread, "globex") == [B_QUESTION, "Any news?"]
    assert not any("ZEBRA" in p for p in assistant.model.prompts if "Globex" in p)  # type: ignore[attr-defined]

    # B hands its own thread over; A's is untouched and still answers.
    assert client.post(f"/v1/threads/{thread}/escalate", headers=B).status_code == 200
    assert assistant.waiting_for_human(thread, tenant="globex")
    assert not assistant.waiting_for_human(thread, tenant="acme")
    assert (
        client.post(
            "/v1/chat", json={"message": "Thanks", "thread_id": thread}, headers=A
        ).status_code
        == 200
    )


def test_another_tenants_thread_is_as_missing_as_no_thread_at_all(client: TestClient) -> None:
    thread = client.post("/v1/chat", json={"message": A_SECRET}, headers=A).json()["thread_id"]

    def calls(on: str) -> list[tuple[str, str, dict[str, str] | None]]:
        return [
            ("post", f"/v1/threads/{on}/escalate", None),
            ("post", f"/v1/threads/{on}/resume", {"reply": "Hi, this is Sam."}),
            ("post", "/v1/feedback", {"thread_id": on, "rating": "down"}),
            ("delete", f"/v1/threads/{on}", None),
        ]

    for (method, path, body), (_, unknown_path, unknown_body) in zip(
        calls(thread), calls("no-such"), strict=True
    ):
        theirs = client.request(method, path, json=body, headers=B)
        unknown = client.request(method, unknown_path, json=unknown_body, headers=B)
        assert theirs.status_code == unknown.status_code == 404, (path, theirs.text)
        assert (
            theirs.json()["error"]["message"].replace(thread, "no-such")
            == (unknown.json()["error"]["message"])
        )
    # A's thread is intact: there, not handed over, not rated, not deleted.
    rating = {"thread_id": thread, "rating": "up"}
    assert client.post("/v1/feedback", json=rating, headers=A).status_code == 204
    assert client.post(f"/v1/threads/{thread}/escalate", headers=A).status_code == 200


def test_two_tenants_racing_on_one_thread_id_through_mcp_each_keep_their_own(
    assistant: Assistant, model: HeldModel
) -> None:
    server = build_mcp_server(assistant)
    thread = shared_id()
    model.hold = A_SECRET
    answers: dict[str, Any] = {}

    async def go() -> None:
        app = server.streamable_http_app()
        async with server.session_manager.run():
            transport = httpx2.ASGITransport(app=app)
            url = "http://127.0.0.1:8090/mcp"
            async with (
                httpx2.AsyncClient(transport=transport, headers=A) as http_a,
                httpx2.AsyncClient(transport=transport, headers=B) as http_b,
                Client(streamable_http_client(url, http_client=http_a)) as as_a,
                Client(streamable_http_client(url, http_client=http_b)) as as_b,
            ):

                async def ask_a() -> None:
                    answers["a"] = await as_a.call_tool(
                        "ask", {"question": A_SECRET, "thread_id": thread}
                    )

                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(ask_a)
                    try:
                        assert await anyio.to_thread.run_sync(model.started.wait, 30)
                        answers["b"] = await as_b.call_tool(
                            "ask", {"question": B_QUESTION, "thread_id": thread}
                        )
                        answers["b_while_a_ran"] = "a" not in answers
                    finally:
                        model.hold = None
                        model.release.set()

    anyio.run(go)
    assert answers["b_while_a_ran"], "B was answered only once A's turn ended"
    for name in ("a", "b"):
        assert not answers[name].is_error, answers[name].content
        assert (answers[name].structured_content or {})["thread_id"] == thread
    assert human_texts(assistant, thread, "acme") == [A_SECRET]
    assert human_texts(assistant, thread, "globex") == [B_QUESTION]


def test_threads_stored_before_owners_stay_readable_by_their_owner(
    assistant: Assistant,
) -> None:
    # Threads as the previous release stored them: under the client's bare id.
    for thread, tenant in (("ticket-9", "acme"), ("slack:T1:C1:1700000000.000100", "acme")):
        config = {"configurable": {"thread_id": thread}}
        assistant.graph.invoke(new_turn(f"Old question of {thread}", tenant), config)  # type: ignore[arg-type]
    assert namespace_legacy_threads(assistant.checkpointer) == 2  # type: ignore[arg-type]
    assert namespace_legacy_threads(assistant.checkpointer) == 0  # type: ignore[arg-type]

    assert human_texts(assistant, "ticket-9", "acme") == ["Old question of ticket-9"]
    assert not assistant.thread_values("ticket-9", tenant="globex")
    slack = "slack:T1:C1:1700000000.000100"
    assert assistant.thread_values(slack, tenant="acme", via="slack")["question"].startswith("Old")
    assert not assistant.thread_values(slack, tenant="acme")  # the API's namespace: not there
    answer = assistant.ask("A new question", thread_id="ticket-9", tenant="acme")
    assert answer.thread_id == "ticket-9"
    assert human_texts(assistant, "ticket-9", "acme") == [
        "Old question of ticket-9",
        "A new question",
    ]


def test_a_thread_stored_under_an_owners_key_with_another_tenant_is_refused_under_the_lock(
    assistant: Assistant,
) -> None:
    # A tampered (or wrongly migrated) store: Globex's state under Acme's key. The owner check
    # under the lock reads what is stored, not what the key says.
    config = {"configurable": {"thread_id": "api/acme/ticket-7"}}
    assistant.graph.invoke(new_turn("Globex's question", "globex"), config)  # type: ignore[arg-type]
    with pytest.raises(ThreadNotFoundError, match="no thread 'ticket-7'"):
        assistant.ask("Acme's question", thread_id="ticket-7", tenant="acme")
    with pytest.raises(ThreadNotFoundError):
        assistant.rate("ticket-7", "up", tenant="acme")
    with pytest.raises(ThreadNotFoundError):
        assistant.hand_over("ticket-7", tenant="acme")
    assert assistant.thread_values("ticket-7", tenant="acme") == {}
    with pytest.raises(InputError, match="invalid thread id"):
        assistant.ask("Reaching over?", thread_id="ticket-7/../x", tenant="acme")


# --- retention and erasure --------------------------------------------------------------


def data_files_holding(folder: Path, text: str) -> list[str]:
    """Every file under `folder` whose bytes hold `text` (SQLite files, their write-ahead
    logs, the JSONL log, lock files: all of them)."""
    needle = text.encode()
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and needle in p.read_bytes()
    )


ANNA = "Anna's parcel PELICAN-MAPLE-5520 never arrived"
BEN = "Ben's parcel QUOKKA-BIRCH-8841 never arrived"


@pytest.mark.parametrize("log", ["jsonl", "sqlite"])
def test_forgetting_a_user_leaves_nothing_of_theirs_in_the_data_folder(
    settings: Settings, tmp_path: Path, model: HeldModel, log: str
) -> None:
    settings.interaction_log = log  # type: ignore[assignment]
    opened = open_assistant(settings, tmp_path, model)
    try:
        with TestClient(create_app(settings, assistant=opened)) as client:
            anna = []
            for n in range(2):
                body = {"message": f"{ANNA} (case {n})", "user": "anna@example.com"}
                answer = client.post("/v1/chat", json=body, headers=A).json()
                anna.append(answer["thread_id"])
                follow = {"message": "Still nothing", "thread_id": answer["thread_id"]}
                assert client.post("/v1/chat", json=follow, headers=A).status_code == 200
                rating = {"thread_id": answer["thread_id"], "rating": "down"}
                assert client.post("/v1/feedback", json=rating, headers=A).status_code == 204
            ben = client.post("/v1/chat", json={"message": BEN, "user": "ben"}, headers=A).json()
            # The same user name under another tenant is another person.
            other = client.post(
                "/v1/chat", json={"message": ANNA, "user": "anna@example.com"}, headers=B
            )
            assert other.status_code == 200
            data = settings.data_dir
            assert data_files_holding(data, "PELICAN-MAPLE-5520")  # the check can see it

            # Globex forgetting "its" anna touches nothing of Acme's.
            erased_b = client.delete("/v1/users/anna@example.com", headers=B).json()
            assert erased_b["threads"] == [other.json()["thread_id"]]
            erased = client.delete("/v1/users/anna@example.com", headers=A)
            assert erased.status_code == 200, erased.text
            assert sorted(erased.json()["threads"]) == sorted(anna)
            assert erased.json()["log_records"] == 2 * 3  # two turns and a rating per thread
            assert data_files_holding(data, "PELICAN-MAPLE-5520") == []
            assert data_files_holding(data, "QUOKKA-BIRCH-8841")  # Ben's stays
            for thread in anna:
                assert (
                    client.post(
                        "/v1/feedback", json={"thread_id": thread, "rating": "up"}, headers=A
                    ).status_code
                    == 404
                )

            # One thread: gone with its log rows, then as missing as any.
            assert client.delete(f"/v1/threads/{ben['thread_id']}", headers=B).status_code == 404
            assert client.delete(f"/v1/threads/{ben['thread_id']}", headers=A).status_code == 204
            assert client.delete(f"/v1/threads/{ben['thread_id']}", headers=A).status_code == 404
            assert data_files_holding(data, "QUOKKA-BIRCH-8841") == []
            rows = read_log(settings.interaction_log_path).rows
            assert {r.record.thread_id for r in rows} == set()
    finally:
        opened.close()


def test_threads_idle_past_the_retention_are_deleted_by_the_sweep(
    settings: Settings, tmp_path: Path, model: HeldModel
) -> None:
    settings.thread_retention_days = 30
    opened = open_assistant(settings, tmp_path, model)
    try:
        old = opened.ask("An old question", tenant="acme").thread_id or ""
        new = opened.ask("A newer question", tenant="globex").thread_id or ""
        activity = opened.eraser.last_activity()
        old_at, new_at = activity[f"api/acme/{old}"], activity[f"api/globex/{new}"]
        assert old_at < new_at
        # Thirty days after the old thread's last turn, and not yet after the newer one's.
        at = old_at + timedelta(days=30) + (new_at - old_at) / 2
        assert opened.eraser.prune_expired(now=at) == [f"api/acme/{old}"]
        assert not opened.thread_values(old, tenant="acme")
        assert opened.thread_values(new, tenant="globex")
        assert data_files_holding(settings.data_dir, "An old question") == [
            "interactions.jsonl"  # the log keeps its own retention (90 days by default)
        ]
        assert opened.eraser.prune_expired(now=datetime.now(UTC)) == []
    finally:
        opened.close()


def test_the_cli_deletes_a_thread_and_forgets_a_user(
    settings: Settings, tmp_path: Path, model: HeldModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = open_assistant(settings, tmp_path, model)
    try:
        kept = opened.ask(BEN, tenant="acme").thread_id or ""
        anna = opened.ask(ANNA, tenant="acme", user="anna").thread_id or ""
        slack = "slack:T1:C1:1700000000.000100"
        opened.ask(f"{ANNA} (in Slack)", thread_id=slack, tenant="acme", via="slack", user="anna")
    finally:
        opened.close()
    env = {"ASSISTANT_DATA_DIR": str(settings.data_dir), "ASSISTANT_TENANT": "acme"}
    monkeypatch.chdir(tmp_path)  # no .env of the developer's

    forgot = CliRunner().invoke(cli, ["users", "forget", "anna"], env=env)
    assert forgot.exit_code == 0, forgot.output
    assert "1 API threads, 1 Slack threads" in forgot.output
    assert data_files_holding(settings.data_dir, "PELICAN-MAPLE-5520") == []

    deleted = CliRunner().invoke(cli, ["threads", "delete", kept], env=env)
    assert deleted.exit_code == 0, deleted.output
    assert data_files_holding(settings.data_dir, "QUOKKA-BIRCH-8841") == []
    again = CliRunner().invoke(cli, ["threads", "delete", kept], env=env)
    assert again.exit_code != 0 and f"no thread {kept!r}" in again.output
    assert anna

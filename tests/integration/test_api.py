"""The HTTP API as a client sees it: real store, real graph, real checkpointer.

Routing, auth and error tests use a scripted chat model (exact and fast); the slow tests at
the end stream real answers from the packaged model.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from adapter_fakes import make_adapter, make_base
from doubles import ScriptedChatModel
from fake_openai import FakeServer, Reply, running
from fastapi.testclient import TestClient
from langchain_core.language_models import BaseChatModel
from openai.types.chat import ChatCompletionMessageParam
from pydantic import SecretStr

from assistant.errors import InputError
from assistant.interaction_log import read_log
from assistant.interfaces.api.app import create_app
from assistant.interfaces.api.http_models import Escalated
from assistant.knowledge.store import KnowledgeStore
from assistant.llm.embedded import EmbeddedChatModel
from assistant.llm.gateway import build_chat_model
from assistant.schemas import Answer, Outcome
from assistant.service import Assistant
from assistant.settings import SHIPPED_ADAPTERS_DIR, Settings
from assistant.thread_store import open_checkpointer

KEY_A, KEY_B = "key-acme", "key-globex"
A = {"Authorization": f"Bearer {KEY_A}"}
B = {"X-API-Key": KEY_B}

DECIDE_MARK = "What should the support assistant do"
GENERATE_MARK = "Answer the customer's question"
TRIAGE_REPLY = '{"category": "lost_or_stolen_card", "priority": "urgent", "needs_human": true}'

REFUNDS = (
    "# Refunds\n\nRefunds are paid back to the original card within five business days. "
    "Ask for a refund from the Orders page.\n"
)
QUESTION = "How long does a refund take to reach my card?"


class Script:
    """What the scripted model decides; a test changes `decision` to steer the turn."""

    def __init__(self) -> None:
        self.decision = "search"

    def __call__(self, prompt: str) -> str:
        if DECIDE_MARK in prompt:
            return self.decision
        if GENERATE_MARK in prompt:
            return "Refunds take five business days [1]."
        if "stolen" in prompt:  # a triage request: the ticket text is the whole prompt
            return TRIAGE_REPLY
        return "Could you tell me more?"


def make_assistant(settings: Settings, store: KnowledgeStore, model: BaseChatModel) -> Assistant:
    return Assistant(
        settings, store=store, model=model, checkpointer=open_checkpointer(settings.checkpoint_path)
    )


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    settings.serve_api_keys = {KEY_A: "acme", KEY_B: "globex"}
    settings.adapters_dir = tmp_path / "no-adapters"  # no triage/escalation nodes in turns
    settings.triage_engine = "adapter"  # `/v1/triage` reads the script's replies
    settings.answer_mode = "generative"  # the script writes the answer
    settings.serve_max_body_bytes = 4096
    settings.serve_max_upload_bytes = 64 * 1024
    return settings


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def client(settings: Settings, store: KnowledgeStore, script: Script) -> Iterator[TestClient]:
    assistant = make_assistant(settings, store, ScriptedChatModel(respond=script))
    with TestClient(create_app(settings, assistant=assistant)) as test_client:
        yield test_client
    assistant.checkpointer.conn.close()


def upload(client: TestClient, headers: dict[str, str], name: str, text: str) -> dict[str, int]:
    files = {"files": (name, text.encode(), "text/markdown")}
    response = client.post("/v1/documents", files=files, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, int] = response.json()
    return body


def events(stream_text: str) -> list[tuple[str, dict[str, object]]]:
    """The (event, data) pairs of a text/event-stream body."""
    parsed = []
    for block in stream_text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            parsed.append((fields["event"], json.loads(fields["data"])))
    return parsed


# --- auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing API key"),
        ({"Authorization": "Bearer nope"}, "not valid"),
        ({"X-API-Key": "nope"}, "not valid"),
    ],
)
def test_requests_without_a_valid_key_get_401_with_a_clear_error(
    client: TestClient, headers: dict[str, str], message: str
) -> None:
    response = client.post("/v1/chat", json={"message": QUESTION}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["type"] == "unauthorized" and message in error["message"]


def test_a_key_over_its_rate_limit_gets_429_with_retry_after_and_its_own_limit_applies(
    settings: Settings, store: KnowledgeStore, script: Script
) -> None:
    settings.serve_rate_limit = "2/minute"
    settings.serve_rate_limits = {KEY_B: "3/minute"}
    assistant = make_assistant(settings, store, ScriptedChatModel(respond=script))
    with TestClient(create_app(settings, assistant=assistant)) as limited:
        bad_key = limited.get("/v1/models", headers={"X-API-Key": "nope"})
        assert bad_key.status_code == 401  # refused before it is counted against anyone
        assert [limited.get("/v1/models", headers=A).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
        refused = limited.post("/v1/chat", json={"message": QUESTION}, headers=A)
        assert [limited.get("/v1/models", headers=B).status_code for _ in range(4)] == [
            200,
            200,
            200,
            429,
        ]
        assert limited.get("/healthz").status_code == 200  # probes carry no key: never limited
    assistant.checkpointer.conn.close()

    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    error = refused.json()["error"]
    assert error["type"] == "rate_limited"
    assert "at most 2 per 1 minute for this API key" in error["message"]


def test_a_rate_limit_that_does_not_parse_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="'lots' is not a rate limit"):
        Settings(_env_file=None, serve_rate_limit="lots")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="not among serve_api_keys"):
        Settings(_env_file=None, serve_rate_limits={"stray": "1/second"})  # type: ignore[call-arg]


def test_health_probes_need_no_key_and_say_only_ready_or_not_without_one(
    client: TestClient,
) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True}
    detailed = client.get("/readyz", headers=A).json()
    assert {c["name"]: c["ok"] for c in detailed["checks"]} == {"store": True, "model": True}
    # A key given to /readyz is checked as anywhere: a wrong one learns nothing more.
    assert client.get("/readyz", headers={"X-API-Key": "nope"}).status_code == 401


def test_without_configured_keys_the_api_is_open_on_the_default_tenant(
    settings: Settings, store: KnowledgeStore, script: Script
) -> None:
    settings.serve_api_keys = {}
    assistant = make_assistant(settings, store, ScriptedChatModel(respond=script))
    with TestClient(create_app(settings, assistant=assistant)) as client:
        upload(client, {}, "refunds.md", REFUNDS)
    assert store.count(tenant=settings.tenant) > 0


# --- closed by default: the host, cross-site writes, failed keys ------------------------------

EVIL = "http://evil.example"


@pytest.fixture
def open_client(settings: Settings, store: KnowledgeStore, script: Script) -> Iterator[TestClient]:
    """The API with no keys, as the issue found it: open to whoever reaches it."""
    settings.serve_api_keys = {}
    assistant = make_assistant(settings, store, ScriptedChatModel(respond=script))
    with TestClient(create_app(settings, assistant=assistant)) as test_client:
        yield test_client
    assistant.checkpointer.conn.close()


def refunds_form() -> dict[str, tuple[str, bytes, str]]:
    return {"files": ("refunds.md", REFUNDS.encode(), "text/markdown")}


@pytest.mark.parametrize(
    "browser",
    [{"Origin": EVIL}, {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}],
)
def test_a_cross_site_form_post_is_refused_and_stores_nothing(
    open_client: TestClient, store: KnowledgeStore, settings: Settings, browser: dict[str, str]
) -> None:
    response = open_client.post("/v1/documents", files=refunds_form(), headers=browser)
    assert response.status_code == 403
    assert response.json()["error"]["type"] == "cross_site_request"
    assert store.count(tenant=settings.tenant) == 0
    chat = open_client.post("/v1/chat", json={"message": QUESTION}, headers=browser)
    assert chat.status_code == 403

    # The API's own page (same origin), and curl or an SDK (no Origin), may write.
    own_page = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
    assert open_client.post("/v1/documents", files=refunds_form(), headers=own_page).is_success
    assert store.count(tenant=settings.tenant) > 0
    deleted = open_client.delete("/v1/documents/refunds.md", headers=browser)
    assert deleted.status_code == 403 and store.count(tenant=settings.tenant) > 0
    assert open_client.delete("/v1/documents/refunds.md").is_success


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.evil.example"])
def test_a_request_for_another_host_is_refused(
    open_client: TestClient, store: KnowledgeStore, settings: Settings, host: str
) -> None:
    # DNS rebinding: the attacker's name now points here; its page writes to its own origin.
    rebound = {"Host": host, "Origin": f"http://{host}"}
    response = open_client.post("/v1/documents", files=refunds_form(), headers=rebound)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_host" and "ASSISTANT_SERVE_ALLOWED_HOSTS" in error["message"]
    assert open_client.get("/v1/models", headers={"Host": host}).status_code == 400
    assert store.count(tenant=settings.tenant) == 0


def test_loopback_names_and_allowed_hosts_are_answered_and_probes_answer_any_host(
    client: TestClient,
) -> None:
    for host in ("localhost:8080", "127.0.0.1", "[::1]:8080", "testserver"):
        assert client.get("/v1/models", headers={**A, "Host": host}).status_code == 200, host
    # An orchestrator probes a pod by its address.
    assert client.get("/healthz", headers={"Host": "10.0.0.7:8080"}).status_code == 200
    assert client.get("/readyz", headers={"Host": "10.0.0.7:8080"}).status_code == 200


def test_wrong_keys_from_one_address_get_429_and_then_even_the_right_key_waits(
    client: TestClient,
) -> None:
    guesses = [client.get("/v1/models", headers={"X-API-Key": f"guess-{n}"}) for n in range(6)]
    assert [r.status_code for r in guesses] == [401] * 5 + [429]
    # Were the right key let through, a guesser would learn which guess was right.
    refused = client.get("/v1/models", headers=A)
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
    error = refused.json()["error"]
    assert error["type"] == "rate_limited" and "failed API keys" in error["message"]
    assert client.get("/healthz").status_code == 200


def test_behind_a_trusted_proxy_each_client_is_counted_on_its_own(
    settings: Settings, store: KnowledgeStore, script: Script
) -> None:
    settings.serve_trusted_proxies = ["10.0.0.0/24"]
    settings.serve_auth_failure_limit = "2/minute"
    assistant = make_assistant(settings, store, ScriptedChatModel(respond=script))
    app = create_app(settings, assistant=assistant)

    def models(http: TestClient, key: str, forwarded_for: str) -> int:
        headers = {"X-API-Key": key, "X-Forwarded-For": forwarded_for}
        return http.get("/v1/models", headers=headers).status_code

    with TestClient(app, client=("10.0.0.5", 40000)) as proxy:
        assert [models(proxy, "nope", "203.0.113.7") for _ in range(3)] == [401, 401, 429]
        assert models(proxy, KEY_A, "203.0.113.8") == 200  # another client, same proxy
        # What the client wrote itself comes first; the proxy appends the address it saw.
        assert models(proxy, KEY_A, "198.51.100.1, 203.0.113.7") == 429
    with TestClient(app, client=("192.0.2.9", 40000)) as direct:
        # Not a trusted proxy: its X-Forwarded-For is the client's own claim, not believed.
        codes = [models(direct, "nope", f"198.51.100.{n}") for n in range(3)]
        assert codes == [401, 401, 429]
    assistant.checkpointer.conn.close()


def test_an_open_api_behind_a_trusted_proxy_limits_each_client_not_the_proxy(
    settings: Settings, store: KnowledgeStore, script: Script
) -> None:
    settings.serve_api_keys = {}
    settings.serve_rate_limit = "2/minute"
    settings.serve_trusted_proxies = ["10.0.0.5"]
    assistant = make_assistant(settings, store, ScriptedChatModel(respond=script))
    with TestClient(create_app(settings, assistant=assistant), client=("10.0.0.5", 1)) as proxy:
        for client_ip, expected in (("203.0.113.7", [200, 200, 429]), ("203.0.113.8", [200])):
            headers = {"X-Forwarded-For": client_ip}
            codes = [proxy.get("/v1/models", headers=headers).status_code for _ in expected]
            assert codes == expected, client_ip
    assistant.checkpointer.conn.close()


def test_an_unusable_rate_limit_storage_is_refused_at_start(settings: Settings) -> None:
    settings.serve_rate_limit_storage = SecretStr("nowhere://limits")
    with pytest.raises(InputError, match="ASSISTANT_SERVE_RATE_LIMIT_STORAGE"):
        create_app(settings)


# --- tenants and documents -------------------------------------------------------------------


def test_a_tenant_cannot_see_or_delete_another_tenants_document(client: TestClient) -> None:
    report = upload(client, A, "refunds.md", REFUNDS)
    assert report["docs"] == 1 and report["chunks_added"] >= 1

    assert client.delete("/v1/documents/refunds.md", headers=B).status_code == 404
    seen_by_b = client.post("/v1/chat", json={"message": QUESTION}, headers=B).json()
    assert seen_by_b["outcome"] == Outcome.DECLINED and seen_by_b["citations"] == []

    seen_by_a = client.post("/v1/chat", json={"message": QUESTION}, headers=A).json()
    assert seen_by_a["outcome"] == Outcome.ANSWERED
    assert [c["doc_id"] for c in seen_by_a["citations"]] == ["refunds.md"]
    assert seen_by_a["citations"][0]["url"] == "refunds.md"  # the upload's name, no temp path

    deleted = client.delete("/v1/documents/refunds.md", headers=A)
    assert deleted.status_code == 200 and deleted.json()["chunks_removed"] >= 1
    assert client.delete("/v1/documents/refunds.md", headers=A).status_code == 404


def test_a_tenant_cannot_continue_another_tenants_thread(client: TestClient) -> None:
    thread = client.post("/v1/chat", json={"message": QUESTION}, headers=A).json()["thread_id"]
    # B's message under A's thread id starts B's own thread: A's is neither read nor changed.
    response = client.post("/v1/chat", json={"message": "hi", "thread_id": thread}, headers=B)
    assert response.status_code == 200
    assert response.json()["thread_id"] == thread
    assert QUESTION not in response.json()["queries"]
    rating = {"thread_id": thread, "rating": "up", "turn": 1}
    assert client.post("/v1/feedback", json=rating, headers=A).status_code == 404  # one turn


def test_an_unsupported_upload_is_refused_with_415(client: TestClient) -> None:
    files = {"files": ("slides.pptx", b"PK\x03\x04", "application/octet-stream")}
    response = client.post("/v1/documents", files=files, headers=A)
    assert response.status_code == 415
    assert ".pptx" in response.json()["error"]["message"]


def test_a_binary_upload_ingests_nothing_and_says_why(client: TestClient) -> None:
    files = {"files": ("notes.txt", bytes(range(256)), "text/plain")}
    response = client.post("/v1/documents", files=files, headers=A)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "notes.txt" in message and "not UTF-8" in message and "/tmp" not in message


def test_uploads_may_be_larger_than_the_json_body_limit(client: TestClient) -> None:
    big = REFUNDS + "\n\n" + "Orders ship from our warehouse. " * 400  # > 4096 bytes
    assert upload(client, A, "big.md", big)["docs"] == 1


# --- chat, streaming -------------------------------------------------------------------------


def test_the_streamed_answer_has_tokens_citations_and_a_final_equal_to_the_json_answer(
    client: TestClient,
) -> None:
    upload(client, A, "refunds.md", REFUNDS)
    plain = client.post("/v1/chat", json={"message": QUESTION}, headers=A)
    assert plain.headers["x-thread-id"] == plain.json()["thread_id"]

    stream_headers = {**A, "Accept": "text/event-stream"}
    streamed = client.post("/v1/chat", json={"message": QUESTION}, headers=stream_headers)
    assert streamed.headers["content-type"].startswith("text/event-stream")
    got = events(streamed.text)
    names = [name for name, _ in got]
    assert names[0] == "step" and names[-2:] == ["citations", "final"]
    assert {"decide", "retrieve", "generate"} <= {d["node"] for n, d in got if n == "step"}

    final = Answer.model_validate(got[-1][1])
    tokens = [d["text"] for n, d in got if n == "token"]
    assert tokens and "".join(map(str, tokens)) == final.text
    # The verified sentence went out while the generate node ran, not after the turn.
    assert names.index("token") < got.index(("step", {"node": "generate"}))
    assert got[-2][1] == {"citations": [c.model_dump() for c in final.citations]}
    expected = Answer.model_validate(plain.json())
    ignore = {"thread_id", "timings"}
    assert final.model_dump(exclude=ignore) == expected.model_dump(exclude=ignore)
    assert final.thread_id == streamed.headers["x-thread-id"]


def test_a_failure_mid_stream_is_an_error_event_not_a_cut_connection(
    settings: Settings, store: KnowledgeStore
) -> None:
    def broken(prompt: str) -> str:
        raise RuntimeError("the model fell over")

    assistant = make_assistant(settings, store, ScriptedChatModel(respond=broken))
    with TestClient(create_app(settings, assistant=assistant)) as client:
        headers = {**A, "Accept": "text/event-stream"}
        response = client.post("/v1/chat", json={"message": QUESTION}, headers=headers)
    assert response.status_code == 200
    name, data = events(response.text)[-1]
    assert name == "error"
    assert data == {
        "error": {
            "type": "internal_error",
            "message": "internal error (RuntimeError); the server log has the details",
        }
    }


# --- OpenAI compatibility --------------------------------------------------------------------


def test_the_openai_client_gets_answers_with_citations_and_streams(client: TestClient) -> None:
    upload(client, A, "refunds.md", REFUNDS)
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key=KEY_A, http_client=client)

    completion = sdk.chat.completions.create(
        model="hybrid-assistant", messages=[{"role": "user", "content": QUESTION}]
    )
    text = completion.choices[0].message.content
    assert text == "Refunds take five business days [1]."
    extra = completion.model_extra or {}
    assert [c["doc_id"] for c in extra["citations"]] == ["refunds.md"]

    chunks = list(
        sdk.chat.completions.create(
            model="hybrid-assistant",
            messages=[{"role": "user", "content": QUESTION}],
            stream=True,
            extra_headers={"X-Thread-Id": "openai-thread-1"},
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text
    assert chunks[-1].choices[0].finish_reason == "stop"
    last = chunks[-1].model_extra or {}
    assert last["thread_id"] == "openai-thread-1"
    assert [c["doc_id"] for c in last["citations"]] == ["refunds.md"]


def test_the_openai_clients_stream_helper_gives_citations_in_its_last_chunk_event_only(
    client: TestClient,
) -> None:
    """What docs/api.md tells openai users: `chat.completions.stream()` rebuilds the final
    completion from the choices, so the assistant's own fields are in the last chunk."""
    upload(client, A, "refunds.md", REFUNDS)
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key=KEY_A, http_client=client)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": QUESTION}]
    with sdk.chat.completions.stream(model="hybrid-assistant", messages=messages) as stream:
        chunks = [event.chunk for event in stream if event.type == "chunk"]
        final = stream.get_final_completion()

    assert final.choices[0].message.content == "Refunds take five business days [1]."
    assert "citations" not in final.to_dict()  # lost in the helper's final completion
    citations = (chunks[-1].model_extra or {})["citations"]
    assert [c["doc_id"] for c in citations] == ["refunds.md"]

    raw = sdk.chat.completions.with_raw_response.create(model="hybrid-assistant", messages=messages)
    assert [c["doc_id"] for c in raw.http_response.json()["citations"]] == ["refunds.md"]
    assert [c["doc_id"] for c in raw.parse().to_dict()["citations"]] == ["refunds.md"]


def test_the_openai_client_sees_a_missing_key_as_an_authentication_error(
    client: TestClient,
) -> None:
    sdk = openai.OpenAI(base_url="http://testserver/v1", api_key="wrong", http_client=client)
    with pytest.raises(openai.AuthenticationError, match="not valid"):
        sdk.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])


# --- threads, feedback, triage ---------------------------------------------------------------


def test_a_handed_over_thread_resumes_with_the_humans_reply(
    client: TestClient, script: Script
) -> None:
    script.decision = "human"
    handed = client.post("/v1/chat", json={"message": "Let me talk to a person"}, headers=A)
    assert handed.json()["outcome"] == Outcome.ESCALATED
    thread = handed.json()["thread_id"]

    refused = client.post("/v1/chat", json={"message": "Hello?", "thread_id": thread}, headers=A)
    assert refused.status_code == 400 and "waits for a human" in refused.text
    other = client.post(f"/v1/threads/{thread}/resume", json={"reply": "Hi"}, headers=B)
    assert other.status_code == 404

    resumed = client.post(
        f"/v1/threads/{thread}/resume", json={"reply": "Hi, Sam here."}, headers=A
    )
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["outcome"] == Outcome.HUMAN_REPLY
    assert resumed.json()["text"] == "Hi, Sam here."


def test_a_customer_hands_their_thread_to_a_human_who_then_resumes_it(client: TestClient) -> None:
    upload(client, A, "refunds.md", REFUNDS)
    thread = client.post("/v1/chat", json={"message": QUESTION}, headers=A).json()["thread_id"]

    response = client.post(f"/v1/threads/{thread}/escalate", headers=A)
    assert response.status_code == 200, response.text
    handoff = Escalated.model_validate(response.json())
    assert handoff.thread_id == thread and handoff.reason == "human_requested"
    assert QUESTION in handoff.summary
    assert handoff.answer.outcome is Outcome.ESCALATED
    assert handoff.answer.escalation is not None
    assert handoff.answer.escalation.summary == handoff.summary

    again = client.post(f"/v1/threads/{thread}/escalate", headers=A)
    assert again.status_code == 400 and "already with a human" in again.json()["error"]["message"]
    refused = client.post("/v1/chat", json={"message": "Hello?", "thread_id": thread}, headers=A)
    assert refused.status_code == 400 and "waits for a human" in refused.text
    resumed = client.post(f"/v1/threads/{thread}/resume", json={"reply": "Sam here."}, headers=A)
    assert resumed.json()["outcome"] == Outcome.HUMAN_REPLY


def test_escalating_an_unknown_or_another_tenants_thread_gets_the_same_404(
    client: TestClient,
) -> None:
    thread = client.post("/v1/chat", json={"message": QUESTION}, headers=A).json()["thread_id"]
    unknown = client.post("/v1/threads/no-such-thread/escalate", headers=A)
    assert unknown.status_code == 404
    assert unknown.json() == {
        "error": {"type": "not_found", "message": "no thread 'no-such-thread'"}
    }

    other = client.post(f"/v1/threads/{thread}/escalate", headers=B)
    assert other.status_code == 404
    assert other.json() == {"error": {"type": "not_found", "message": f"no thread {thread!r}"}}
    assert client.post(f"/v1/threads/{thread}/escalate").status_code == 401


def test_the_chat_page_is_served_without_a_key_and_may_load_nothing_from_elsewhere(
    client: TestClient,
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Escalate to a human" in response.text and "v1/chat" in response.text
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "http://" not in response.text and "https://" not in response.text


def test_feedback_is_appended_as_an_interaction_log_row(
    client: TestClient, settings: Settings
) -> None:
    upload(client, A, "refunds.md", REFUNDS)
    answer = client.post("/v1/chat", json={"message": QUESTION}, headers=A).json()
    for rating in ("up", "down"):
        body = {"thread_id": answer["thread_id"], "rating": rating, "comment": "thanks"}
        assert client.post("/v1/feedback", json=body, headers=A).status_code == 204

    # Ratings share the interaction log with the turns, keyed by the (thread, turn) they rate.
    logged = read_log(settings.interaction_log_path, strict=True).rows
    rows = [row.record for row in logged if row.record.kind == "feedback"]
    assert [(r.question, r.answer, r.feedback, r.key) for r in rows] == [
        (QUESTION, answer["text"], "up", (answer["thread_id"], 0)),
        (QUESTION, answer["text"], "down", (answer["thread_id"], 0)),
    ]
    assert rows[0].tenant == "acme" and rows[0].comment == "thanks"

    body = {"thread_id": answer["thread_id"], "rating": "up"}
    assert client.post("/v1/feedback", json=body, headers=B).status_code == 404


def test_triage_takes_one_ticket_or_a_list(client: TestClient) -> None:
    one = client.post("/v1/triage", json={"text": "My card was stolen"}, headers=A)
    assert one.json() == json.loads(TRIAGE_REPLY)

    many = client.post("/v1/triage", json={"texts": ["My card was stolen", "  "]}, headers=A)
    results = many.json()["results"]
    assert results[0]["result"] == json.loads(TRIAGE_REPLY)
    assert results[1]["result"] is None and "empty" in results[1]["error"]


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"message": "   "}, 400, "the question is empty"),
        ({"message": "x" * 5000}, 413, "larger than 4,096 bytes"),
        ({}, 422, "body.message: Field required"),
        ({"message": "hi", "thread_id": "../etc"}, 422, "body.thread_id"),
    ],
)
def test_bad_chat_input_gets_a_clear_4xx(
    client: TestClient, body: dict[str, str], status: int, message: str
) -> None:
    response = client.post("/v1/chat", json=body, headers=A)
    assert response.status_code == status
    assert message in response.json()["error"]["message"]


def test_a_message_over_the_question_limit_gets_the_assistants_own_error(
    client: TestClient, settings: Settings
) -> None:
    settings.max_question_chars = 100
    response = client.post("/v1/chat", json={"message": "x" * 101}, headers=A)
    assert response.status_code == 400
    assert "ASSISTANT_MAX_QUESTION_CHARS" in response.json()["error"]["message"]


def test_a_streamed_body_over_the_limit_gets_413(client: TestClient) -> None:
    def body() -> Iterator[bytes]:  # no Content-Length: the limit is counted as it arrives
        yield b'{"message": "'
        yield b"x" * 5000
        yield b'"}'

    headers = {**A, "Content-Type": "application/json"}
    response = client.post("/v1/chat", content=body(), headers=headers)
    assert response.status_code == 413
    assert "ASSISTANT_SERVE_MAX_BODY_BYTES" in response.json()["error"]["message"]


def test_an_upload_over_the_upload_limit_gets_413(client: TestClient, settings: Settings) -> None:
    files = {"files": ("big.md", b"x" * (settings.serve_max_upload_bytes + 1), "text/markdown")}
    response = client.post("/v1/documents", files=files, headers=A)
    assert response.status_code == 413
    assert "ASSISTANT_SERVE_MAX_UPLOAD_BYTES" in response.json()["error"]["message"]


def test_malformed_json_gets_422(client: TestClient) -> None:
    headers = {**A, "Content-Type": "application/json"}
    response = client.post("/v1/chat", content=b'{"message": ', headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "invalid_request"


# --- the model server down -------------------------------------------------------------------


@pytest.fixture
def server_down(settings: Settings, store: KnowledgeStore) -> Iterator[TestClient]:
    settings.backend = "openai"
    settings.base_url = "http://127.0.0.1:9/v1"  # the discard port: nothing listens
    settings.max_retries = 0
    settings.request_timeout_s = 2
    assistant = make_assistant(settings, store, build_chat_model(settings))
    with TestClient(create_app(settings, assistant=assistant)) as client:
        yield client


def test_readyz_is_503_when_the_model_server_is_down_and_names_it_to_a_key_only(
    server_down: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="assistant.interfaces.api.readiness"):
        anonymous = server_down.get("/readyz")
    assert anonymous.status_code == 503
    assert anonymous.json() == {"ready": False}  # no server URL, no exception text
    assert "127.0.0.1:9" in caplog.text  # the operator finds the reason in the log

    response = server_down.get("/readyz", headers=A)
    assert response.status_code == 503
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert checks["store"]["ok"] and not checks["model"]["ok"]
    assert "127.0.0.1:9" in checks["model"]["detail"]


def test_a_question_while_the_model_server_is_down_gets_503_with_the_reason(
    server_down: TestClient,
) -> None:
    response = server_down.post("/v1/chat", json={"message": QUESTION}, headers=A)
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["type"] == "model_unavailable" and "127.0.0.1:9" in error["message"]


@pytest.mark.parametrize("served", [["smollm2-135m-instruct"], ["other-base", "triage"]])
def test_readyz_is_503_when_the_server_lacks_the_base_or_an_adapter_the_turn_uses(
    settings: Settings, store: KnowledgeStore, tmp_path: Path, served: list[str]
) -> None:
    base = make_base(tmp_path / "base", 1.0)
    make_adapter(tmp_path / "adapters", "triage", base)
    settings.adapters_dir = tmp_path / "adapters"
    settings.backend = "openai"
    with running(FakeServer(decide=lambda prompt: Reply("x"), models=served)) as fake:
        settings.base_url = fake.url
        assistant = make_assistant(settings, store, build_chat_model(settings))
        with TestClient(create_app(settings, assistant=assistant)) as client:
            response = client.get("/readyz", headers=A)
            fake.models = ["smollm2-135m-instruct", "triage"]
            ready = client.get("/readyz", headers=A)

    assert response.status_code == 503
    detail = {c["name"]: c for c in response.json()["checks"]}["model"]["detail"]
    missing = "'triage'" if "other-base" not in served else "'smollm2-135m-instruct'"
    assert f"does not serve {missing}" in detail and "--lora-modules" in detail
    assert ready.status_code == 200, ready.json()


# --- the real packaged model -----------------------------------------------------------------


@pytest.fixture
def real_client(
    settings: Settings, store: KnowledgeStore, chat_model: EmbeddedChatModel
) -> Iterator[TestClient]:
    settings.adapters_dir = SHIPPED_ADAPTERS_DIR  # the shipped triage and escalation adapters
    settings.answer_mode = "extractive"
    assistant = make_assistant(settings, store, chat_model)
    with TestClient(create_app(settings, assistant=assistant)) as client:
        yield client


@pytest.mark.slow
def test_a_real_streamed_answer_cites_the_uploaded_document(real_client: TestClient) -> None:
    upload(real_client, A, "refunds.md", REFUNDS)
    upload(real_client, A, "shipping.md", "# Shipping\n\nParcels arrive in two to four days.\n")
    headers = {**A, "Accept": "text/event-stream"}
    response = real_client.post("/v1/chat", json={"message": QUESTION}, headers=headers)
    got = events(response.text)
    assert [n for n, _ in got][-2:] == ["citations", "final"], got[-1]

    final = Answer.model_validate(got[-1][1])
    assert final.outcome is Outcome.ANSWERED, final
    assert "".join(str(d["text"]) for n, d in got if n == "token") == final.text
    assert [c.doc_id for c in final.citations] == ["refunds.md"]
    assert "five business days" in final.text
    assert real_client.get("/readyz").status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize("verify", ["off", "remove"])
def test_a_real_generated_answer_streams_while_the_model_writes_it(
    settings: Settings, store: KnowledgeStore, chat_model: EmbeddedChatModel, verify: str
) -> None:
    settings.answer_mode = "generative"
    settings.verify_citations = verify  # type: ignore[assignment]
    assistant = make_assistant(settings, store, chat_model)
    with TestClient(create_app(settings, assistant=assistant)) as client:
        upload(client, A, "refunds.md", REFUNDS)
        headers = {**A, "Accept": "text/event-stream"}
        got = events(client.post("/v1/chat", json={"message": QUESTION}, headers=headers).text)
    final = Answer.model_validate(got[-1][1])
    assert final.outcome is Outcome.ANSWERED, final
    tokens = [str(d["text"]) for n, d in got if n == "token"]
    assert "".join(tokens) == final.text
    # Streamed while the generate node ran: every piece came before that node finished.
    generated = got.index(("step", {"node": "generate"}))
    assert all(n != "token" for n, _ in got[generated:])
    # The first piece waits for the first marker (an answer citing nothing is declined);
    # with the check on, every piece is a whole sentence, checked.
    assert re.search(r"\[\d+\]", tokens[0])
    if verify == "remove":
        assert all(re.search(r"\[\d+\]\.?$", t) for t in tokens)

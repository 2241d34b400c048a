"""The Slack bot as Slack sees it: the real Bolt app in HTTP mode, fed signed requests, over
the real graph, embedder and Qdrant local store, posting to a fake Slack Web API.

The chat model is scripted (exact and fast). Bolt acknowledges each request before the bot
works, so a test sends a request and then waits for the Web API call it expects.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from doubles import ScriptedChatModel
from fastapi.testclient import TestClient
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_fakes import (
    BOT_USER,
    SIGNING_SECRET,
    TEAM,
    Call,
    FakeSlack,
    click_body,
    event_body,
    fake_slack,
    signed_headers,
)
from typer.testing import CliRunner

from assistant.errors import InputError
from assistant.graph.prompts import ESCALATE
from assistant.ingestion.ingest import ingest_documents
from assistant.interaction_log import read_log
from assistant.interfaces.api.app import create_app
from assistant.interfaces.api.http_models import THREAD_ID_PATTERN
from assistant.interfaces.cli.main import app as cli
from assistant.interfaces.slack import render
from assistant.interfaces.slack.app import build_app, require_slack_settings
from assistant.interfaces.slack.bot import SlackBot
from assistant.interfaces.slack.escalations import EscalationStore
from assistant.interfaces.slack.thread_keys import SlackThread
from assistant.interfaces.slack.transports import EVENTS_PATH, http_app
from assistant.knowledge.store import KnowledgeStore
from assistant.schemas import Document, Outcome
from assistant.service import Assistant
from assistant.settings import Settings
from assistant.thread_store import open_checkpointer

TENANT = "acme"
CHANNEL = "C0SUPPORT"
ESCALATIONS = "C0ESCALATE"
CUSTOMER = "U0CUSTOMER"
HUMAN = "U0SAM"

DECIDE_MARK = "What should the support assistant do"
GENERATE_MARK = "Answer the customer's question"
SENTENCES = {
    "Refunds": "Refunds take five business days",
    "Shipping": "Parcels arrive in two to four days",
}
QUESTION = "How long do refunds and parcel deliveries take?"
REFUNDS_URL = "https://help.example.com/refunds"


class Script:
    """Decides `decision`; writes one sentence per passage it is shown, with its marker."""

    def __init__(self) -> None:
        self.decision = "search"
        self.broken = False
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, prompt: str) -> str:
        self.gate.wait(timeout=60)
        if self.broken:
            raise RuntimeError("the model fell over")
        if DECIDE_MARK in prompt:
            return self.decision
        if GENERATE_MARK in prompt:
            found = re.findall(r"^\[(\d+)\] (\w+):", prompt, flags=re.MULTILINE)
            return " ".join(f"{SENTENCES[title]} [{n}]." for n, title in found)
        return "Could you tell me more?"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with fake_slack() as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, slack: FakeSlack) -> Settings:
    settings.adapters_dir = tmp_path / "no-adapters"  # no triage/escalation nodes in turns
    settings.answer_mode = "generative"  # the script writes the answer
    settings.slack_bot_token = SecretStr("xoxb-test-token")
    settings.slack_signing_secret = SecretStr(SIGNING_SECRET)
    settings.slack_api_url = slack.url
    settings.slack_escalation_channel = ESCALATIONS
    settings.slack_tenant = TENANT
    return settings


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def assistant(settings: Settings, store: KnowledgeStore, script: Script) -> Iterator[Assistant]:
    docs = [
        Document(
            doc_id="refunds",
            title="Refunds",
            text="Refunds are paid back to the original card within five business days.",
            url=REFUNDS_URL,
            tenant=TENANT,
        ),
        Document(
            doc_id="shipping",
            title="Shipping",
            text="Parcels arrive in two to four days after the order ships.",
            source="docs/shipping.md",
            tenant=TENANT,
        ),
    ]
    ingest_documents(docs, store, tenant=TENANT, max_chars=settings.chunk_max_chars)
    opened = Assistant(
        settings,
        store=store,
        model=ScriptedChatModel(respond=script),
        checkpointer=open_checkpointer(settings.checkpoint_path),
    )
    yield opened
    opened.checkpointer.conn.close()


@dataclass
class Slack:
    """Slack's side of the conversation: signed requests to the bot's HTTP endpoint."""

    http: TestClient
    bot: SlackBot

    def event(self, **event: str) -> httpx.Response:
        body = event_body({"event_ts": event["ts"], **event})
        headers = signed_headers(body, content_type="application/json")
        return self.http.post(EVENTS_PATH, content=body, headers=headers)

    def mention(self, text: str, *, ts: str, thread_ts: str | None = None) -> httpx.Response:
        extra = {"thread_ts": thread_ts} if thread_ts else {}
        return self.event(
            type="app_mention", channel=CHANNEL, user=CUSTOMER, text=text, ts=ts, **extra
        )

    def reply(
        self, text: str, *, ts: str, thread_ts: str, channel: str = CHANNEL, user: str = CUSTOMER
    ) -> httpx.Response:
        return self.event(
            type="message",
            channel_type="channel",
            channel=channel,
            user=user,
            text=text,
            ts=ts,
            thread_ts=thread_ts,
        )

    def click(self, message: Call, action_id: str) -> httpx.Response:
        body = click_body(message, action_id, user=CUSTOMER)
        headers = signed_headers(body, content_type="application/x-www-form-urlencoded")
        return self.http.post(EVENTS_PATH, content=body, headers=headers)


@contextmanager
def running_bot(assistant: Assistant, settings: Settings) -> Iterator[Slack]:
    """The bot as `assistant slack` runs it in HTTP mode (a fresh start each time)."""
    with (
        SlackBot.open(assistant, settings) as bot,
        TestClient(http_app(build_app(bot, settings))) as http,
    ):
        yield Slack(http, bot)


@pytest.fixture
def slack_bot(assistant: Assistant, settings: Settings) -> Iterator[Slack]:
    with running_bot(assistant, settings) as bot:
        yield bot


def mention(text: str) -> str:
    return f"<@{BOT_USER}> {text}"


def graph_thread(thread_ts: str, channel: str = CHANNEL) -> str:
    return f"slack:{TEAM}:{channel}:{thread_ts}"


# --- answering in threads --------------------------------------------------------------------


def test_a_mention_is_answered_in_its_thread_with_linked_numbered_sources_and_buttons(
    slack_bot: Slack, slack: FakeSlack, assistant: Assistant
) -> None:
    assert slack_bot.mention(mention(QUESTION), ts="1000.000100").status_code == 200
    reply = slack.wait_for(channel=CHANNEL, thread_ts="1000.000100")

    shown = reply.text_of_blocks()
    assert "Refunds take five business days [" in shown
    citations = assistant.thread_values(graph_thread("1000.000100"), tenant=TENANT, via="slack")[
        "answer"
    ].citations
    numbers = {c.doc_id: c.n for c in citations}
    assert set(numbers) == {"refunds", "shipping"}
    assert f"[{numbers['refunds']}] <{REFUNDS_URL}|Refunds>" in shown
    assert f"[{numbers['shipping']}] Shipping (`shipping.md`)" in shown
    assert reply.action_ids() == [
        render.ESCALATE_ACTION,
        render.RATE_UP_ACTION,
        render.RATE_DOWN_ACTION,
    ]
    assert "Refunds take five business days" in reply.args["text"]  # for notifications


def test_a_follow_up_in_the_thread_continues_the_same_graph_thread(
    slack_bot: Slack, slack: FakeSlack, assistant: Assistant
) -> None:
    slack_bot.mention(mention(QUESTION), ts="1000.000100")
    slack.wait_for(channel=CHANNEL, thread_ts="1000.000100")

    # No mention: a reply in a thread the bot answers in is for the bot.
    slack_bot.reply(
        "And how long for refunds to a card?", ts="1001.000100", thread_ts="1000.000100"
    )
    slack.wait_for(channel=CHANNEL, thread_ts="1000.000100", count=2)

    thread_id = graph_thread("1000.000100")
    assert re.match(THREAD_ID_PATTERN, thread_id)  # the API and `assistant resume` take it
    messages = assistant.thread_values(thread_id, tenant=TENANT, via="slack")["messages"]
    assert [m.type for m in messages] == ["human", "ai", "human", "ai"]
    assert messages[2].text == "And how long for refunds to a card?"


def test_a_direct_message_is_answered_in_a_thread_under_it(
    slack_bot: Slack, slack: FakeSlack
) -> None:
    slack_bot.event(
        type="message",
        channel_type="im",
        channel="D0DIRECT",
        user=CUSTOMER,
        text=QUESTION,
        ts="2000.000100",
    )
    reply = slack.wait_for(channel="D0DIRECT")
    assert reply.args["thread_ts"] == "2000.000100"
    assert "five business days" in reply.text_of_blocks()


def test_channel_talk_outside_the_bots_threads_is_left_alone(
    slack_bot: Slack, slack: FakeSlack
) -> None:
    slack_bot.event(
        type="message",
        channel_type="channel",
        channel=CHANNEL,
        user=CUSTOMER,
        text="lunch anyone?",
        ts="3000.000100",
    )
    slack_bot.reply("me!", ts="3001.000100", thread_ts="3000.000100")
    slack_bot.mention(mention(QUESTION), ts="3002.000100")  # a marker that work was done
    slack.wait_for(channel=CHANNEL, thread_ts="3002.000100")
    assert [c.args["thread_ts"] for c in slack.posts(channel=CHANNEL)] == ["3002.000100"]


def test_slack_delivering_a_mention_twice_gets_one_answer(
    slack_bot: Slack, slack: FakeSlack
) -> None:
    # Slack sends a mention in a thread as `app_mention` and as `message`, with the same ts.
    slack_bot.mention(mention(QUESTION), ts="1000.000100")
    slack.wait_for(channel=CHANNEL, thread_ts="1000.000100")
    slack_bot.mention(mention("A follow-up"), ts="1001.000100", thread_ts="1000.000100")
    slack_bot.reply(mention("A follow-up"), ts="1001.000100", thread_ts="1000.000100")
    slack.wait_for(channel=CHANNEL, thread_ts="1000.000100", count=2)
    time.sleep(1)  # time for a second answer, were one coming
    assert len(slack.posts(channel=CHANNEL, thread_ts="1000.000100")) == 2


def test_the_answer_does_not_hold_the_acknowledgement(
    slack_bot: Slack, slack: FakeSlack, script: Script
) -> None:
    script.gate.clear()  # the model does not answer until the gate opens
    started = time.monotonic()
    response = slack_bot.mention(mention(QUESTION), ts="1000.000100")
    assert response.status_code == 200 and time.monotonic() - started < 3
    assert slack.posts(channel=CHANNEL) == []
    script.gate.set()
    assert "five business days" in slack.wait_for(channel=CHANNEL).text_of_blocks()


# --- escalation ------------------------------------------------------------------------------


def test_escalating_hands_over_and_the_humans_reply_reaches_the_customer_after_a_restart(
    assistant: Assistant, settings: Settings, slack: FakeSlack
) -> None:
    thread_ts = "1000.000100"
    thread_id = graph_thread(thread_ts)
    with running_bot(assistant, settings) as bot:
        bot.mention(mention(QUESTION), ts=thread_ts)
        answer = slack.wait_for(channel=CHANNEL, thread_ts=thread_ts)
        assert bot.click(answer, render.ESCALATE_ACTION).status_code == 200
        updated = slack.wait_for("chat.update")

        handoff = slack.wait_for(channel=ESCALATIONS)
        note = handoff.text_of_blocks()
        assert f"<#{CHANNEL}>" in note and "the customer asked for a person" in note
        assert QUESTION in note and thread_id in note
        assert slack.posts(
            "reactions.add", channel=CHANNEL, timestamp=thread_ts, name="raising_hand"
        )
        told = slack.posts(channel=CHANNEL, thread_ts=thread_ts)[-1]
        assert told.args["text"] == ESCALATE and told.action_ids() == []
        # The used button goes; the thumbs stay.
        assert updated.args["ts"] == answer.ts
        assert updated.action_ids() == [render.RATE_UP_ACTION, render.RATE_DOWN_ACTION]
        assert (
            assistant.thread_values(thread_id, tenant=TENANT, via="slack")["answer"].outcome
            is Outcome.ESCALATED
        )

        # The customer writes while they wait: the human sees it, nothing is generated.
        bot.reply("Hello? Anyone?", ts="1002.000100", thread_ts=thread_ts)
        passed = slack.wait_for(channel=ESCALATIONS, thread_ts=handoff.ts)
        assert "Hello? Anyone?" in passed.args["text"]
        slack.wait_for(channel=CHANNEL, thread_ts=thread_ts, text=render.WITH_A_HUMAN)

    with running_bot(assistant, settings) as restarted:  # the mapping lives on disk
        restarted.reply(
            "Hi, Sam here: your refund left today.",
            ts="1003.000100",
            thread_ts=handoff.ts,
            channel=ESCALATIONS,
            user=HUMAN,
        )
        relayed = slack.wait_for(
            channel=CHANNEL,
            thread_ts=thread_ts,
            where=lambda c: "Sam here" in c.args.get("text", ""),
        )
        slack.wait_for(channel=ESCALATIONS, thread_ts=handoff.ts, text=render.SENT)

    assert "Hi, Sam here: your refund left today." in relayed.text_of_blocks()
    state = assistant.thread_values(thread_id, tenant=TENANT, via="slack")
    assert state["answer"].outcome is Outcome.HUMAN_REPLY
    assert state["answer"].text == "Hi, Sam here: your refund left today."


def test_when_the_model_hands_over_the_humans_are_told_without_a_click(
    slack_bot: Slack, slack: FakeSlack, script: Script, assistant: Assistant
) -> None:
    script.decision = "human"
    slack_bot.mention(mention("Let me talk to a person"), ts="1000.000100")
    told = slack.wait_for(channel=CHANNEL, thread_ts="1000.000100")
    assert told.args["text"] == ESCALATE and told.action_ids() == []
    handoff = slack.wait_for(channel=ESCALATIONS)
    assert "Let me talk to a person" in handoff.text_of_blocks()
    slack.wait_for("reactions.add", timestamp="1000.000100")


def test_a_second_click_on_escalate_does_not_hand_over_twice(
    slack_bot: Slack, slack: FakeSlack
) -> None:
    slack_bot.mention(mention(QUESTION), ts="1000.000100")
    answer = slack.wait_for(channel=CHANNEL, thread_ts="1000.000100")
    slack_bot.click(answer, render.ESCALATE_ACTION)
    slack.wait_for("chat.update")
    slack_bot.click(answer, render.ESCALATE_ACTION)
    whisper = slack.wait_for("chat.postEphemeral")
    assert whisper.args["text"] == render.ALREADY_WITH_A_HUMAN
    assert len(slack.posts(channel=ESCALATIONS)) == 1


# --- feedback --------------------------------------------------------------------------------


def test_thumbs_are_logged_to_the_feedback_log_for_the_answer_they_sit_under(
    slack_bot: Slack, slack: FakeSlack, settings: Settings
) -> None:
    slack_bot.mention(mention(QUESTION), ts="1000.000100")
    first = slack.wait_for(channel=CHANNEL, thread_ts="1000.000100")
    slack_bot.reply("Thanks! Can I get it faster?", ts="1001.000100", thread_ts="1000.000100")
    slack.wait_for(channel=CHANNEL, thread_ts="1000.000100", count=2)

    slack_bot.click(first, render.RATE_UP_ACTION)  # the first answer, after a later one
    assert slack.wait_for("chat.postEphemeral").args["text"] == render.THANKS
    slack_bot.click(first, render.RATE_DOWN_ACTION)
    slack.wait_for("chat.postEphemeral", count=2)

    # Ratings share the interaction log with the turns, keyed by the (thread, turn) they rate.
    logged = read_log(settings.interaction_log_path, strict=True).rows
    rows = [row.record for row in logged if row.record.kind == "feedback"]
    assert [r.feedback for r in rows] == ["up", "down"]
    assert {r.question for r in rows} == {QUESTION}
    assert all("Refunds take five business days" in r.answer for r in rows)
    assert {r.key for r in rows} == {(graph_thread("1000.000100"), 0)}
    assert rows[0].tenant == TENANT and rows[0].outcome == Outcome.ANSWERED


# --- replays and retries ----------------------------------------------------------------------


def post_again(http: TestClient, body: str, headers: dict[str, str]) -> httpx.Response:
    """Send a request exactly as sent before: same body, same signature and timestamp."""
    return http.post(EVENTS_PATH, content=body, headers=headers)


def ratings(settings: Settings) -> list[str | None]:
    logged = read_log(settings.interaction_log_path, strict=True).rows
    return [row.record.feedback for row in logged if row.record.kind == "feedback"]


def test_a_replayed_click_logs_one_rating_before_and_after_a_restart(
    assistant: Assistant, settings: Settings, slack: FakeSlack
) -> None:
    with running_bot(assistant, settings) as bot:
        bot.mention(mention(QUESTION), ts="1000.000100")
        answer = slack.wait_for(channel=CHANNEL, thread_ts="1000.000100")
        body = click_body(answer, render.RATE_UP_ACTION, user=CUSTOMER)
        headers = signed_headers(body, content_type="application/x-www-form-urlencoded")
        assert post_again(bot.http, body, headers).status_code == 200
        slack.wait_for("chat.postEphemeral")
        # Within the signature's 5 minutes, a captured click is still validly signed.
        assert post_again(bot.http, body, headers).status_code == 200

    with running_bot(assistant, settings) as restarted:
        assert post_again(restarted.http, body, headers).status_code == 200
        restarted.click(answer, render.RATE_DOWN_ACTION)  # a new click: counted
        slack.wait_for("chat.postEphemeral", count=2)
        time.sleep(1)  # time for the replays' ratings, were they coming

    assert ratings(settings) == ["up", "down"]
    assert len(slack.posts("chat.postEphemeral")) == 2


def test_a_message_delivered_again_after_a_restart_is_answered_once(
    assistant: Assistant, settings: Settings, slack: FakeSlack
) -> None:
    body = event_body(
        {
            "type": "app_mention",
            "channel": CHANNEL,
            "user": CUSTOMER,
            "text": mention(QUESTION),
            "ts": "1000.000100",
            "event_ts": "1000.000100",
        }
    )
    headers = signed_headers(body, content_type="application/json")
    with running_bot(assistant, settings) as bot:
        assert post_again(bot.http, body, headers).status_code == 200
        slack.wait_for(channel=CHANNEL, thread_ts="1000.000100")

    # A new app object on the same data folder: Slack's retry (or a replay) of the same event.
    with running_bot(assistant, settings) as restarted:
        retry = {**headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        assert post_again(restarted.http, body, retry).status_code == 200
        assert post_again(restarted.http, body, headers).status_code == 200
        restarted.mention(mention(QUESTION), ts="1001.000100")  # a marker that work was done
        slack.wait_for(channel=CHANNEL, thread_ts="1001.000100")
        time.sleep(1)  # time for a second answer, were one coming

    assert len(slack.posts(channel=CHANNEL, thread_ts="1000.000100")) == 1
    messages = assistant.thread_values(graph_thread("1000.000100"), tenant=TENANT, via="slack")[
        "messages"
    ]
    assert [m.type for m in messages] == ["human", "ai"]


# --- request signing -------------------------------------------------------------------------


def tampered(signature: str) -> str:
    """`signature` with its last hex digit changed (to another digit, whatever it was)."""
    return signature[:-1] + ("1" if signature.endswith("0") else "0")


def test_requests_not_signed_by_slack_are_refused_with_401(
    slack_bot: Slack, slack: FakeSlack
) -> None:
    body = event_body(
        {
            "type": "app_mention",
            "channel": CHANNEL,
            "user": CUSTOMER,
            "text": mention(QUESTION),
            "ts": "5000.000100",
        }
    )
    json_type = "application/json"
    now = int(time.time())
    good = signed_headers(body, content_type=json_type)
    attempts = {
        "unsigned": {"Content-Type": json_type},
        "wrong secret": signed_headers(body, content_type=json_type, secret="not-the-secret"),
        "stale timestamp": signed_headers(body, content_type=json_type, timestamp=now - 6 * 60),
        "future timestamp": signed_headers(body, content_type=json_type, timestamp=now + 6 * 60),
        "signature of another body": signed_headers("{}", content_type=json_type),
        "tampered signature": {**good, "X-Slack-Signature": tampered(good["X-Slack-Signature"])},
    }
    statuses = {
        name: slack_bot.http.post(EVENTS_PATH, content=body, headers=headers).status_code
        for name, headers in attempts.items()
    }
    assert statuses == dict.fromkeys(attempts, 401)

    assert slack_bot.http.post(EVENTS_PATH, content=body, headers=good).status_code == 200
    slack.wait_for(channel=CHANNEL, thread_ts="5000.000100")
    assert len(slack.posts(channel=CHANNEL)) == 1  # only the signed request was answered


def test_slacks_url_verification_challenge_is_answered(slack_bot: Slack) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
    response = slack_bot.http.post(
        EVENTS_PATH, content=body, headers=signed_headers(body, content_type="application/json")
    )
    assert response.status_code == 200 and response.json() == {"challenge": "c-123"}


# --- bad input -------------------------------------------------------------------------------


def test_an_api_key_of_the_same_tenant_cannot_reach_a_slack_customers_thread(
    assistant: Assistant,
    settings: Settings,
    slack: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    thread_ts = "1000.000100"
    thread_id = graph_thread(thread_ts)
    with running_bot(assistant, settings) as bot:
        bot.mention(mention(QUESTION), ts=thread_ts)
        answer = slack.wait_for(channel=CHANNEL, thread_ts=thread_ts)
        assert bot.click(answer, render.ESCALATE_ACTION).status_code == 200
        slack.wait_for(channel=ESCALATIONS)
        customer = SlackThread(team=TEAM, channel=CHANNEL, thread_ts=thread_ts)
        deadline = time.monotonic() + 10  # the hand-off is stored just after it is posted
        while bot.bot.escalations.latest_for(customer) is None:
            assert time.monotonic() < deadline, "the hand-off was never stored"
            time.sleep(0.05)
    slack_state = assistant.thread_values(thread_id, tenant=TENANT, via="slack")
    assert assistant.waiting_for_human(thread_id, tenant=TENANT, via="slack")

    settings.serve_api_keys = {"key-acme": TENANT}
    key = {"X-API-Key": "key-acme"}
    with TestClient(create_app(settings, assistant=assistant)) as api:
        # Not resumed, rated, handed over nor deleted: the API's keys reach the API's threads.
        resume = api.post(f"/v1/threads/{thread_id}/resume", json={"reply": "Hi"}, headers=key)
        assert resume.status_code == 404, resume.text
        rating = {"thread_id": thread_id, "rating": "down"}
        assert api.post("/v1/feedback", json=rating, headers=key).status_code == 404
        assert api.post(f"/v1/threads/{thread_id}/escalate", headers=key).status_code == 404
        assert api.delete(f"/v1/threads/{thread_id}", headers=key).status_code == 404
        assert api.delete(f"/v1/users/{CUSTOMER}", headers=key).json()["threads"] == []
        # Nor read: a message under its id is a new API thread, blind to the Slack one.
        chat = api.post("/v1/chat", json={"message": "hi", "thread_id": thread_id}, headers=key)
        assert chat.status_code == 200, chat.text
        assert QUESTION not in chat.json()["queries"]
    assert assistant.thread_values(thread_id, tenant=TENANT, via="slack") == slack_state

    # The operator erases the Slack customer: thread, log rows and hand-off, off the disk.
    monkeypatch.chdir(tmp_path)
    env = {"ASSISTANT_DATA_DIR": str(settings.data_dir), "ASSISTANT_SLACK_TENANT": TENANT}
    forgot = CliRunner().invoke(cli, ["users", "forget", CUSTOMER], env=env)
    assert forgot.exit_code == 0, forgot.output
    assert "1 Slack threads" in forgot.output and "1 Slack hand-offs" in forgot.output
    assert not assistant.thread_values(thread_id, tenant=TENANT, via="slack")
    with EscalationStore(settings.slack_state_path) as store:
        assert store.latest_for(customer) is None
    needle = QUESTION.encode()
    holding = [
        p.name for p in settings.data_dir.rglob("*") if p.is_file() and needle in p.read_bytes()
    ]
    assert holding == []


def test_an_empty_mention_gets_a_polite_prompt_not_a_crash(
    slack_bot: Slack, slack: FakeSlack
) -> None:
    assert slack_bot.mention(f"<@{BOT_USER}>   ", ts="6000.000100").status_code == 200
    reply = slack.wait_for(channel=CHANNEL, thread_ts="6000.000100")
    assert reply.args["text"] == render.EMPTY_QUESTION
    slack_bot.mention(mention(QUESTION), ts="6001.000100")  # and the bot still answers
    assert "five business days" in slack.wait_for(thread_ts="6001.000100").text_of_blocks()


def test_a_question_over_the_limit_is_refused_saying_why(
    slack_bot: Slack, slack: FakeSlack, settings: Settings
) -> None:
    settings.max_question_chars = 50
    slack_bot.mention(mention("x" * 51), ts="6000.000100")
    reply = slack.wait_for(channel=CHANNEL, thread_ts="6000.000100")
    assert reply.args["text"].startswith("Sorry, I can't take that question")
    assert "the limit is 50" in reply.args["text"]


def test_a_failing_model_gets_an_apology_in_the_thread(
    slack_bot: Slack, slack: FakeSlack, script: Script
) -> None:
    script.broken = True
    slack_bot.mention(mention(QUESTION), ts="6000.000100")
    assert slack.wait_for(thread_ts="6000.000100").args["text"] == render.FAILED


def test_socket_mode_needs_no_signing_secret_and_talks_to_the_configured_api(
    assistant: Assistant, settings: Settings, slack: FakeSlack
) -> None:
    settings.slack_signing_secret = None
    settings.slack_app_token = SecretStr("xapp-test-token")
    with SlackBot.open(assistant, settings) as bot:
        app = build_app(bot, settings, socket_mode=True)
        handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
        assert handler.client.web_client.base_url == slack.url
    assert slack.posts("auth.test")  # the token was checked at start-up, against the fake


@pytest.mark.parametrize("secret", ["", "   "])
def test_an_empty_signing_secret_is_refused_at_start_up(
    assistant: Assistant, settings: Settings, secret: str
) -> None:
    settings.slack_signing_secret = SecretStr(secret)
    with pytest.raises(InputError, match="ASSISTANT_SLACK_SIGNING_SECRET"):
        require_slack_settings(settings, socket_mode=False)
    with SlackBot.open(assistant, settings) as bot, pytest.raises(InputError, match="not empty"):
        build_app(bot, settings)
    # Socket Mode verifies no signatures (its frames come over the bot's own connection); its
    # app token must not be empty either.
    settings.slack_app_token = SecretStr(" ")
    with pytest.raises(InputError, match="ASSISTANT_SLACK_APP_TOKEN"):
        require_slack_settings(settings, socket_mode=True)


def test_assistant_slack_with_an_empty_signing_secret_exits_naming_it(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_QDRANT_PATH": str(tmp_path / "qdrant"),
        "ASSISTANT_SLACK_BOT_TOKEN": "xoxb-test-token",
        "ASSISTANT_SLACK_SIGNING_SECRET": "",
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "assistant"), "slack", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # the old code went on to serve: it never exited
        check=False,
    )
    assert done.returncode == 1
    assert "ASSISTANT_SLACK_SIGNING_SECRET" in done.stderr + done.stdout


def test_the_bot_needs_its_settings_and_names_the_missing_ones(settings: Settings) -> None:
    settings.slack_signing_secret = None
    with pytest.raises(InputError, match="ASSISTANT_SLACK_SIGNING_SECRET"):
        require_slack_settings(settings, socket_mode=False)
    with pytest.raises(InputError, match="ASSISTANT_SLACK_APP_TOKEN"):
        require_slack_settings(settings, socket_mode=True)

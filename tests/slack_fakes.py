"""A stand-in for the Slack Web API on 127.0.0.1, and Slack's side of a signed request.

The bot's WebClient points at `FakeSlack.url` (setting `slack_api_url`), so no call leaves
the machine: the fake answers `auth.test` as a bot user and records every other call.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

TEAM = "T0TEAM"
BOT_USER = "U0BOT"
BOT_ID = "B0BOT"
SIGNING_SECRET = "test-signing-secret"


@dataclass(frozen=True)
class Call:
    """One Web API call as the fake received it: the method and its arguments."""

    method: str
    args: dict[str, Any]
    ts: str = field(default="", compare=False)  # the ts the fake gave a posted message

    def text_of_blocks(self) -> str:
        """Every text of the call's blocks, joined: what a person would read."""
        found: list[str] = []

        def walk(node: object) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("text"), str):
                    found.append(node["text"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self.args.get("blocks", []))
        return "\n".join(found)

    def action_ids(self) -> list[str]:
        return [
            element["action_id"]
            for block in self.args.get("blocks", [])
            if block.get("type") == "actions"
            for element in block["elements"]
        ]

    def button_value(self, action_id: str) -> str:
        for block in self.args.get("blocks", []):
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element["action_id"] == action_id:
                    return str(element["value"])
        raise AssertionError(f"no {action_id} button in {self.args}")


@dataclass
class FakeSlack:
    """Records calls; `wait_for` blocks until the bot (working after its ack) makes one."""

    port: int = 0
    calls: list[Call] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def record(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        with self._changed:
            ts = f"{1_700_000_000 + next(self._ts)}.000100"
            self.calls.append(Call(method, args, ts))
            self._changed.notify_all()
        if method == "auth.test":
            return {"ok": True, "team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID}
        if method == "chat.postMessage":
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": args}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        return {"ok": True}

    def posts(self, method: str = "chat.postMessage", **match: str) -> list[Call]:
        """The calls of `method` whose arguments include every `match` item."""
        with self._changed:
            calls = list(self.calls)
        return [c for c in calls if c.method == method and _matches(c, match)]

    def wait_for(
        self,
        method: str = "chat.postMessage",
        *,
        count: int = 1,
        timeout: float = 60.0,
        where: Callable[[Call], bool] = lambda _: True,
        **match: str,
    ) -> Call:
        """The `count`-th matching call, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [
                    c for c in self.calls if c.method == method and _matches(c, match) and where(c)
                ]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {method} {match} after {timeout}s: {self.calls}")
                self._changed.wait(left)


def _matches(call: Call, match: dict[str, str]) -> bool:
    return all(call.args.get(key) == value for key, value in match.items())


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    """A `FakeSlack` serving on a free loopback port for the duration of the block."""
    fake = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if "json" in (self.headers.get("Content-Type") or ""):
                args = json.loads(raw or "{}")
            else:
                args = dict(parse_qsl(raw))
                if isinstance(args.get("blocks"), str):
                    args["blocks"] = json.loads(args["blocks"])
            method = self.path.rsplit("/", 1)[-1]
            body = json.dumps(fake.record(method, args)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


# --- Slack's side: signed requests -----------------------------------------------------------


def signature(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """`X-Slack-Signature`: v0= HMAC-SHA256 of `v0:{timestamp}:{body}` with the secret."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256)
    return "v0=" + digest.hexdigest()


def signed_headers(
    body: str, *, content_type: str, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature(body, stamp, secret),
    }


_event_ids = itertools.count(1)


def event_body(event: dict[str, Any]) -> str:
    """An Events API request body around `event`."""
    return json.dumps(
        {
            "token": "unused-verification-token",
            "team_id": TEAM,
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": f"Ev{next(_event_ids):08d}",
            "event_time": int(time.time()),
            "event": event,
        }
    )


def click_body(message: Call, action_id: str, *, user: str = "U0CUSTOMER") -> str:
    """The `block_actions` request body of a click on a button of a posted message."""
    message_ts = message.ts
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM},
        "user": {"id": user, "team_id": TEAM},
        "api_app_id": "A0APP",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": message.args["channel"],
            "is_ephemeral": False,
            "thread_ts": message.args.get("thread_ts"),
        },
        "channel": {"id": message.args["channel"]},
        "message": {
            "type": "message",
            "ts": message_ts,
            "text": message.args.get("text", ""),
            "blocks": message.args.get("blocks", []),
            "thread_ts": message.args.get("thread_ts"),
        },
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "answer_actions",
                "value": message.button_value(action_id),
                "action_ts": str(time.time()),
            }
        ],
        "trigger_id": "1.2.3",
    }
    return urlencode({"payload": json.dumps(payload)})

"""How Slack reaches the bot: HTTP (a signed POST per event) or Socket Mode (a websocket the
bot opens, for workspaces without a public URL)."""

from __future__ import annotations

import anyio.to_thread
from fastapi import FastAPI, Request, Response
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response

EVENTS_PATH = "/slack/events"


def http_app(app: App) -> FastAPI:
    """The ASGI app Slack posts events and clicks to (`/slack/events`), for uvicorn."""
    web = FastAPI(title="hybrid-assistant Slack bot", openapi_url=None)

    @web.post(EVENTS_PATH)
    async def events(request: Request) -> Response:
        body = await request.body()
        # Bolt's own Starlette handler dispatches on the event loop; dispatching waits for
        # the listener's acknowledgement (and calls auth.test once), so it runs in a worker
        # thread and other requests keep flowing meanwhile.
        answer = await anyio.to_thread.run_sync(app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(answer)

    @web.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return web


def run_socket_mode(app: App, app_token: str) -> None:
    """Connect to Slack over Socket Mode and serve until interrupted."""
    SocketModeHandler(app, app_token).start()

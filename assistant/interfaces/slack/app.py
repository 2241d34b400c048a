"""Builds the Bolt app over a `SlackBot`: which Slack event or click goes to which work."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_bolt.error import BoltError

from assistant.errors import InputError
from assistant.interfaces.slack import render
from assistant.interfaces.slack.bot import SlackBot
from assistant.interfaces.slack.payloads import ButtonClick, MessageEvent, MessageKind, incoming
from assistant.settings import Settings

RATE_ACTIONS = re.compile(f"^({render.RATE_UP_ACTION}|{render.RATE_DOWN_ACTION})$")


def require_slack_settings(settings: Settings, *, socket_mode: bool) -> None:
    """Raise `InputError` naming every setting the chosen mode lacks."""
    needed = {"ASSISTANT_SLACK_BOT_TOKEN": settings.slack_bot_token}
    if socket_mode:
        needed["ASSISTANT_SLACK_APP_TOKEN"] = settings.slack_app_token
    else:
        needed["ASSISTANT_SLACK_SIGNING_SECRET"] = settings.slack_signing_secret
    # An empty value is as good as none: an empty signing secret passed start-up and then made
    # every signed request fail.
    missing = [
        name
        for name, value in needed.items()
        if value is None or not value.get_secret_value().strip()
    ]
    if missing:
        mode = "Socket Mode" if socket_mode else "HTTP mode"
        raise InputError(
            f"the Slack bot in {mode} needs {', '.join(missing)} (or the same name without "
            "the ASSISTANT_ prefix), set and not empty; see docs/configuration.md"
        )


def build_app(bot: SlackBot, settings: Settings, *, socket_mode: bool = False) -> App:
    """The Bolt app: mentions, direct messages and thread replies, and the answer buttons.

    The bot token is checked against Slack (`auth.test` at `slack_api_url`) here, so a bad
    token is one clear error at start-up. HTTP mode verifies every request's signature.
    """
    require_slack_settings(settings, socket_mode=socket_mode)
    secret = settings.slack_signing_secret
    try:
        app = App(
            client=bot.client,
            signing_secret=secret.get_secret_value() if secret else "",
            # Socket Mode frames come over the app's own authenticated connection, unsigned.
            request_verification_enabled=not socket_mode,
            # A long-running server: Bolt acknowledges first and runs the listener on its
            # thread pool, so a turn of the model never holds the 3-second acknowledgement
            # (`process_before_response` and lazy listeners are for FaaS hosts).
            process_before_response=False,
            logger=logging.getLogger("assistant.interfaces.slack.bolt"),
        )
    except BoltError as error:
        raise InputError(f"Slack did not accept the bot token: {error}") from None

    def on_message(event: dict[str, Any], context: BoltContext, kind: MessageKind) -> None:
        message = incoming(
            MessageEvent.model_validate(event),
            kind=kind,
            team=context.team_id or context.enterprise_id or "none",
            bot_user_id=context.bot_user_id,
        )
        bot.on_message(message)

    # Events are acknowledged by Bolt before these run.
    @app.event("app_mention")
    def mention(event: dict[str, Any], context: BoltContext) -> None:
        on_message(event, context, "mention")

    @app.event({"type": "message", "subtype": None})
    def message(event: dict[str, Any], context: BoltContext) -> None:
        on_message(event, context, "dm" if event.get("channel_type") == "im" else "channel")

    @app.event("message")
    def other_message() -> None:
        """Edits, deletions, joins: acknowledged (Slack retries what is not) and ignored."""

    @app.action(render.ESCALATE_ACTION)
    def escalate(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        bot.on_escalate(ButtonClick.model_validate(body))

    @app.action(RATE_ACTIONS)
    def rate(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        click = ButtonClick.model_validate(body)
        bot.on_rate(click, "up" if click.action_id == render.RATE_UP_ACTION else "down")

    return app

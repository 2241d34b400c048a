"""The parts of Slack's event and interaction payloads the bot reads, typed at the door."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.interfaces.slack.thread_keys import ButtonValue, SlackThread

MessageKind = Literal["mention", "dm", "channel"]


class MessageEvent(BaseModel):
    """A `message` or `app_mention` event (Events API)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    channel: str
    ts: str
    text: str = ""
    user: str | None = None
    thread_ts: str | None = None
    # "im" for a direct message; absent on app_mention events.
    channel_type: str | None = None


class IncomingMessage(BaseModel):
    """A person's message, with the bot's mention taken out of its text."""

    model_config = ConfigDict(frozen=True)

    kind: MessageKind
    team: str
    channel: str
    ts: str
    thread_ts: str | None = None
    user: str | None = None
    text: str

    @property
    def delivery_key(self) -> str:
        """The message's identity across Slack's deliveries of it (`app_mention` and
        `message`, retries, replays): its workspace, channel and timestamp."""
        return f"message:{self.team}:{self.channel}:{self.ts}"

    @property
    def thread(self) -> SlackThread:
        """The thread the bot answers in: the message's thread, or one started under it."""
        return SlackThread(
            team=self.team, channel=self.channel, thread_ts=self.thread_ts or self.ts
        )


def incoming(
    event: MessageEvent, *, kind: MessageKind, team: str, bot_user_id: str | None
) -> IncomingMessage:
    return IncomingMessage(
        kind=kind,
        team=team,
        channel=event.channel,
        ts=event.ts,
        thread_ts=event.thread_ts,
        user=event.user,
        text=without_mention(event.text, bot_user_id),
    )


def without_mention(text: str, bot_user_id: str | None) -> str:
    """The text without `<@BOT>` mentions (Slack writes a mention as `<@U123>` or
    `<@U123|name>`); without a known bot id, a leading mention goes."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    else:
        text = re.sub(r"^\s*<@[A-Z0-9]+(\|[^>]*)?>", " ", text)
    return " ".join(text.split())


class _Id(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str


class _Container(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    channel_id: str
    message_ts: str


class ClickedMessage(BaseModel):
    """The bot's message whose button was clicked, as Slack sends it back."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    ts: str
    text: str = ""
    # Block Kit JSON as Slack echoes it; `slack_sdk.models.blocks.Block.parse_all` reads it.
    blocks: list[dict[str, Any]] = Field(default_factory=list)


class _Action(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    action_id: str
    value: str = ""
    # When the click happened (Slack's own, per click): a replay of the request repeats it.
    action_ts: str = ""


class ButtonClick(BaseModel):
    """A `block_actions` interaction: one click on a button under an answer."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    user: _Id
    team: _Id | None = None
    trigger_id: str = ""
    container: _Container
    message: ClickedMessage | None = None
    actions: list[_Action] = Field(min_length=1)

    @property
    def action_id(self) -> str:
        return self.actions[0].action_id

    @property
    def delivery_key(self) -> str | None:
        """The click's identity across deliveries of its request (None if Slack sent no
        stamp): the button's message and action, and the click's own timestamp."""
        stamp = self.actions[0].action_ts or self.trigger_id
        if not stamp:
            return None
        team = self.team.id if self.team else ""
        container = self.container
        return (
            f"click:{team}:{container.channel_id}:{container.message_ts}:{self.action_id}:{stamp}"
        )

    @property
    def value(self) -> ButtonValue:
        return ButtonValue.model_validate_json(self.actions[0].value)

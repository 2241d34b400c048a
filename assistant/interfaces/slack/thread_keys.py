"""Which graph thread a Slack thread is: the mapping is a pure function of where it lives."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from assistant.schemas import Outcome

# Slack ids are [A-Z0-9] and timestamps digits with one dot; the graph thread id built from
# them stays inside the thread-id alphabet, so `assistant resume` can address a Slack thread
# (the HTTP API cannot: its keys reach the API's threads only).
_SLACK_ID = r"^[A-Za-z0-9_-]+$"
_SLACK_TS = r"^[0-9]+\.[0-9]+$"


class SlackThread(BaseModel):
    """One Slack thread: its workspace, its channel and the ts of its first message."""

    model_config = ConfigDict(frozen=True)

    team: str = Field(pattern=_SLACK_ID)
    channel: str = Field(pattern=_SLACK_ID)
    thread_ts: str = Field(pattern=_SLACK_TS)

    @property
    def graph_thread_id(self) -> str:
        """The assistant's thread id for this Slack thread (stable across restarts). The bot
        uses it in its own namespace (`via="slack"`): an API key's thread of the same id is
        another thread."""
        return f"slack:{self.team}:{self.channel}:{self.thread_ts}"

    @classmethod
    def from_graph_thread_id(cls, thread_id: str) -> SlackThread | None:
        """The Slack thread `graph_thread_id` names; None for another id."""
        prefix, _, rest = thread_id.partition(":")
        parts = rest.split(":")
        if prefix != "slack" or len(parts) != 3:
            return None
        try:
            return cls(team=parts[0], channel=parts[1], thread_ts=parts[2])
        except ValueError:
            return None


class ButtonValue(BaseModel):
    """What a button under an answer carries back when it is clicked: the thread, and which
    answer of it (the n-th reply of the assistant, from 0) with its outcome, so a rating
    names its turn even after later turns."""

    model_config = ConfigDict(frozen=True)

    thread: SlackThread
    turn: int = Field(ge=0)
    outcome: Outcome

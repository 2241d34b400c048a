"""The bot's work behind each Slack listener: answer, hand over, relay a human's reply, rate.

Listeners acknowledge Slack first (see `app.py`); everything here may take as long as a
turn of the model takes.
"""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Self

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block

from assistant.closing import Closing
from assistant.errors import AlreadyWithHumanError, InputError, ThreadNotFoundError
from assistant.interaction_log import Feedback
from assistant.interfaces.slack import render
from assistant.interfaces.slack.escalations import Escalation, EscalationStore
from assistant.interfaces.slack.handoff import handoff_note
from assistant.interfaces.slack.payloads import ButtonClick, IncomingMessage
from assistant.interfaces.slack.seen import SeenDeliveries
from assistant.interfaces.slack.thread_keys import ButtonValue, SlackThread
from assistant.schemas import Answer, Outcome
from assistant.service import Assistant
from assistant.settings import Settings

logger = logging.getLogger(__name__)


class SlackBot(Closing):
    """The assistant as a Slack bot. Owns the hand-off and delivery stores; the assistant is
    the caller's."""

    def __init__(
        self,
        assistant: Assistant,
        settings: Settings,
        *,
        client: WebClient,
        escalations: EscalationStore,
        seen: SeenDeliveries,
    ) -> None:
        self.assistant = assistant
        self.client = client
        self.escalations = escalations
        # Slack delivers a message twice (as `app_mention` and `message`, and again after a
        # slow acknowledgement) and a signed request can be replayed for 5 minutes: each
        # message and click is acted on once, across restarts (see `seen.py`).
        self.seen = seen
        self.tenant = settings.slack_tenant or settings.tenant
        self.escalation_channel = settings.slack_escalation_channel
        # Bolt runs listeners on a thread pool; the embedded store or the embedded model
        # must still see one call at a time.
        self._exclusive: AbstractContextManager[Any] = (
            threading.Lock() if assistant.needs_exclusive_use else nullcontext()
        )

    @classmethod
    def open(cls, assistant: Assistant, settings: Settings) -> Self:
        """A bot posting with the settings' bot token to `slack_api_url`."""
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        return cls(
            assistant,
            settings,
            client=WebClient(token=token, base_url=settings.slack_api_url),
            escalations=EscalationStore(settings.slack_state_path),
            seen=SeenDeliveries(settings.slack_state_path),
        )

    # --- messages ------------------------------------------------------------------------

    def on_message(self, message: IncomingMessage) -> None:
        """A person wrote: a human's reply to a hand-off, or a customer's message."""
        if not self.seen.first_time(message.delivery_key):
            return
        if message.thread_ts:
            escalation = self.escalations.by_handoff(message.channel, message.thread_ts)
            if escalation is not None:
                self._relay_human_reply(escalation, message)
                return
        thread = message.thread
        if message.kind == "channel" and not (
            message.thread_ts and self._values(thread.graph_thread_id)
        ):
            return  # channel talk the bot was neither mentioned in nor part of
        self._answer(thread, message.text, message.user)

    def _answer(self, thread: SlackThread, text: str, user: str | None = None) -> None:
        if not text:
            self._say(thread, render.EMPTY_QUESTION)
            return
        thread_id = thread.graph_thread_id
        if self.assistant.waiting_for_human(thread_id, tenant=self.tenant, via="slack"):
            self._pass_to_human(thread, text)
            return
        try:
            with self._exclusive:
                answer = self.assistant.ask(
                    text, thread_id=thread_id, tenant=self.tenant, via="slack", user=user
                )
        except InputError as error:
            self._say(thread, render.BAD_QUESTION.format(reason=error))
            return
        except Exception:
            logger.exception("turn failed in thread %s", thread_id)
            self._say(thread, render.FAILED)
            return
        self._post_answer(thread, answer)
        if answer.outcome is Outcome.ESCALATED:
            self._open_escalation(thread, answer)

    def _pass_to_human(self, thread: SlackThread, text: str) -> None:
        """The customer writes while a human has the thread: the human sees it."""
        escalation = self.escalations.latest_for(thread)
        if escalation is not None:
            self.client.chat_postMessage(
                channel=escalation.channel,
                thread_ts=escalation.ts,
                text=render.FROM_CUSTOMER.format(text=text),
            )
        self._say(thread, render.WITH_A_HUMAN)

    def _relay_human_reply(self, escalation: Escalation, message: IncomingMessage) -> None:
        """A human replied in a hand-off thread: the reply resumes the customer's thread."""
        thread_id = escalation.customer.graph_thread_id
        if not message.text:
            return
        if not self.assistant.waiting_for_human(thread_id, tenant=self.tenant, via="slack"):
            self._say_in(escalation.channel, escalation.ts, render.NOT_WAITING)
            return
        try:
            with self._exclusive:
                answer = self.assistant.resume(
                    thread_id, message.text, tenant=self.tenant, via="slack"
                )
        except InputError as error:
            self._say_in(
                escalation.channel, escalation.ts, render.BAD_QUESTION.format(reason=error)
            )
            return
        self._post_answer(escalation.customer, answer)
        self._say_in(escalation.channel, escalation.ts, render.SENT)

    # --- buttons -------------------------------------------------------------------------

    def on_escalate(self, click: ButtonClick) -> None:
        """The customer asked for a person: hand the thread over and tell the humans."""
        value = click.value
        thread = value.thread
        if self.escalation_channel is None or not self._from_own_button(click, thread):
            return
        if not self._first_click(click):
            return
        try:
            # One call, atomic in the thread store: a double click, or two replicas of the bot
            # given the same click, hand over once.
            with self._exclusive:
                answer = self.assistant.hand_over(
                    thread.graph_thread_id, tenant=self.tenant, via="slack"
                )
        except ThreadNotFoundError:
            self._whisper(thread, click.user.id, render.NO_THREAD)
            return
        except AlreadyWithHumanError:
            self._whisper(thread, click.user.id, render.ALREADY_WITH_A_HUMAN)
            return
        self._post_answer(thread, answer)
        self._open_escalation(thread, answer)
        if click.message is not None:
            # The button goes once used; the thumbs stay.
            blocks = render.without_escalate(Block.parse_all(click.message.blocks), value)
            self.client.chat_update(
                channel=thread.channel, ts=click.message.ts, text=click.message.text, blocks=blocks
            )

    def on_rate(self, click: ButtonClick, rating: Feedback) -> None:
        """Thumbs up or down on one answer, logged in the interaction log beside its turn."""
        value = click.value
        thread = value.thread
        if not self._from_own_button(click, thread) or not self._first_click(click):
            return  # a replayed click rates once
        try:
            self.assistant.rate(
                thread.graph_thread_id,
                rating,
                tenant=self.tenant,
                via="slack",
                turn=value.turn,
                outcome=value.outcome,
            )
        except ThreadNotFoundError:
            self._whisper(thread, click.user.id, render.NO_THREAD)
            return
        self._whisper(thread, click.user.id, render.THANKS)

    # --- posting -------------------------------------------------------------------------

    def _post_answer(self, thread: SlackThread, answer: Answer) -> None:
        values = self._values(thread.graph_thread_id)
        # Buttons name their answer by its place among the assistant's replies.
        turn = sum(m.type == "ai" for m in values.get("messages", [])) - 1
        value = ButtonValue(thread=thread, turn=max(turn, 0), outcome=answer.outcome)
        self.client.chat_postMessage(
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            text=render.fallback_text(answer),
            blocks=render.answer_blocks(
                answer, value, can_escalate=self.escalation_channel is not None
            ),
        )

    def _open_escalation(self, thread: SlackThread, answer: Answer) -> None:
        """Post the hand-off to the escalation channel and remember its thread."""
        thread_id = thread.graph_thread_id
        if self.escalation_channel is None:
            logger.warning(
                "thread %s waits for a human but no escalation channel is set "
                '(ASSISTANT_SLACK_ESCALATION_CHANNEL); answer it with: assistant resume %s "..."',
                thread_id,
                thread_id,
            )
            return
        note = handoff_note(thread, answer, self._values(thread_id))
        posted = self.client.chat_postMessage(
            channel=self.escalation_channel,
            text=render.handoff_text(note),
            blocks=render.handoff_blocks(note),
        )
        # Slack answers with the channel's id even when the setting names it `#support`;
        # human replies arrive under that id.
        self.escalations.add(
            Escalation(channel=str(posted["channel"]), ts=str(posted["ts"]), customer=thread)
        )
        self._tag(thread)

    def _tag(self, thread: SlackThread) -> None:
        """Mark the customer's thread as handed over where anyone scrolling the channel sees it."""
        try:
            self.client.reactions_add(
                channel=thread.channel, timestamp=thread.thread_ts, name="raising_hand"
            )
        except SlackApiError as error:  # a missing reactions:write scope must not stop a hand-off
            logger.warning("could not tag thread %s: %s", thread.graph_thread_id, error)

    def _say(self, thread: SlackThread, text: str) -> None:
        self._say_in(thread.channel, thread.thread_ts, text)

    def _say_in(self, channel: str, thread_ts: str, text: str) -> None:
        self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)

    def _whisper(self, thread: SlackThread, user: str, text: str) -> None:
        """A note only the clicking person sees."""
        self.client.chat_postEphemeral(
            channel=thread.channel, thread_ts=thread.thread_ts, user=user, text=text
        )

    # --- checks --------------------------------------------------------------------------

    def _first_click(self, click: ButtonClick) -> bool:
        key = click.delivery_key
        return key is None or self.seen.first_time(key)

    def _values(self, thread_id: str) -> dict[str, Any]:
        """A Slack thread's state: the bot's threads live apart from the API's (`via`)."""
        return self.assistant.thread_values(thread_id, tenant=self.tenant, via="slack")

    @staticmethod
    def _from_own_button(click: ButtonClick, thread: SlackThread) -> bool:
        # The value names a thread; it must be the one the button sits in.
        return click.container.channel_id == thread.channel

    def close(self) -> None:
        self.escalations.close()
        self.seen.close()

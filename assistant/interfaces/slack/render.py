"""What the bot says in Slack: answers as Block Kit blocks, the hand-off note, and every
fixed sentence the bot posts (one place to reword them)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from assistant.interfaces.slack.handoff import HandOff
from assistant.interfaces.slack.thread_keys import ButtonValue
from assistant.schemas import Answer, Citation, Outcome

ESCALATE_ACTION = "escalate"
RATE_UP_ACTION = "rate_up"
RATE_DOWN_ACTION = "rate_down"
ACTIONS_BLOCK = "answer_actions"

# Block Kit refuses a section text over 3000 characters (the whole message, not just the
# section, would fail to post).
SECTION_CHARS = 3000
TRANSCRIPT_CHARS = 400

EMPTY_QUESTION = (
    "Hi! Ask me your question in the same message as the mention, for example "
    "_how do I add documents?_, and I will answer here with my sources."
)
BAD_QUESTION = "Sorry, I can't take that question: {reason}."
FAILED = "Sorry, something went wrong on my side and I couldn't answer. Please try again later."
WITH_A_HUMAN = (
    "A person from our support team has this conversation and will reply in this thread; "
    "I have passed your message on."
)
ALREADY_WITH_A_HUMAN = "This conversation is already with a person from our support team."
NO_THREAD = "I can't find that conversation any more, so there is nothing to hand over."
THANKS = "Thanks for the feedback!"
NOT_WAITING = (
    "This conversation is not waiting for a person any more, so your reply was not sent. "
    "The customer can ask for a person again with the button under an answer."
)
SENT = "Sent to the customer; the assistant answers their next message."
FROM_CUSTOMER = "*The customer wrote:*\n{text}"

REASONS = {
    "safety": "someone's safety",
    "security": "security",
    "dispute": "a dispute",
    "money_missing": "missing money",
    "account_action": "an account action",
    "loss_or_damage": "something lost, stolen or damaged",
    "unanswerable": "the knowledge base has no answer",
    "human_requested": "the customer asked for a person",
    "unresolved": "unresolved",
    "none": "no reason given",
}


def escape(text: str) -> str:
    """Text safe inside Slack mrkdwn: only these three characters are control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def citation_line(citation: Citation) -> str:
    """`[n] <url|title>`, or the title and source path when the document has no web URL."""
    title = escape(citation.title or citation.doc_id)
    where = citation.url
    if where.startswith(("https://", "http://")):
        # A `|` in the URL would end it early inside the link syntax.
        return f"[{citation.n}] <{escape(where).replace('|', '%7C')}|{title}>"
    if where and where != citation.title:
        return f"[{citation.n}] {title} (`{escape(where)}`)"
    return f"[{citation.n}] {title}"


def answer_blocks(
    answer: Answer, buttons: ButtonValue | None, *, can_escalate: bool
) -> list[Block]:
    """The answer, its numbered sources, a note on who speaks, and the buttons under it."""
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(_mrkdwn(answer))))]
    if answer.citations:
        lines = "\n".join(citation_line(c) for c in sorted(answer.citations, key=lambda c: c.n))
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(f"*Sources*\n{lines}"))))
    note = _outcome_note(answer.outcome) or escape(answer.notice)
    if note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    if buttons is not None and answer.outcome is not Outcome.ESCALATED:
        blocks.append(answer_actions(buttons, can_escalate=can_escalate))
    return blocks


def answer_actions(value: ButtonValue, *, can_escalate: bool) -> ActionsBlock:
    """Escalate (when there is an escalation channel) and thumbs up/down."""
    payload = value.model_dump_json()
    escalate = ButtonElement(
        text=PlainTextObject(text="Escalate to a human"),
        action_id=ESCALATE_ACTION,
        value=payload,
    )
    thumbs = [
        ButtonElement(
            text=PlainTextObject(text=":+1:", emoji=True),
            action_id=RATE_UP_ACTION,
            value=payload,
            accessibility_label="This answer helped",
        ),
        ButtonElement(
            text=PlainTextObject(text=":-1:", emoji=True),
            action_id=RATE_DOWN_ACTION,
            value=payload,
            accessibility_label="This answer did not help",
        ),
    ]
    return ActionsBlock(
        block_id=ACTIONS_BLOCK, elements=[escalate, *thumbs] if can_escalate else thumbs
    )


def without_escalate(blocks: Sequence[Block], value: ButtonValue) -> list[Block]:
    """The blocks of a posted answer with its escalate button gone (once it is handed over)."""
    kept = [b for b in blocks if b.block_id != ACTIONS_BLOCK]
    return [*kept, answer_actions(value, can_escalate=False)]


def fallback_text(answer: Answer) -> str:
    """The plain text Slack shows in notifications and to clients without blocks."""
    return clip(_mrkdwn(answer))


def handoff_blocks(handoff: HandOff) -> list[Block]:
    """The note in the escalation channel; the human replies in its thread."""
    customer = handoff.customer
    reason = REASONS.get(handoff.reason, handoff.reason)
    lines = [
        f"> *{'Customer' if turn.role == 'user' else 'Assistant'}:* "
        + escape(clip(" ".join(turn.content.split()), TRANSCRIPT_CHARS))
        for turn in handoff.transcript
    ]
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":raising_hand: *A customer needs a person* in <#{customer.channel}> "
                f"({escape(reason)})"
            )
        ),
        SectionBlock(text=MarkdownTextObject(text=clip(f"*Summary*\n{escape(handoff.summary)}"))),
        SectionBlock(text=MarkdownTextObject(text=clip("*Conversation*\n" + "\n".join(lines)))),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Reply in this thread: your reply is posted to the customer. "
                    f"Thread `{customer.graph_thread_id}`."
                )
            ]
        ),
    ]


def handoff_text(handoff: HandOff) -> str:
    return f"A customer needs a person: {escape(handoff.summary)}"


def clip(text: str, chars: int = SECTION_CHARS) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _mrkdwn(answer: Answer) -> str:
    # A human's reply was written in Slack: its mentions and links are Slack markup already.
    return answer.text if answer.outcome is Outcome.HUMAN_REPLY else escape(answer.text)


def _outcome_note(outcome: Outcome) -> str:
    if outcome is Outcome.ESCALATED:
        return ":raising_hand: Handed to a person from our support team; they reply in this thread."
    if outcome is Outcome.HUMAN_REPLY:
        return ":bust_in_silhouette: A reply from our support team."
    return ""

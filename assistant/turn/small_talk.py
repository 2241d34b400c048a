"""Replies to small talk: a fitted head tells what the message is, and the reply is the one
written for that.

The router decides that a message is small talk; this head, fitted by `assistant adapters
fit-small-talk` on CLINC150's small-talk intents (a greeting, thanks, "are you a bot?", "tell me a
joke", ...), tells which, and the reply is the team's text for it. The 135M model asked to reply
politely wrote condolences to "hi there" and a home town and hobbies for itself; a support
assistant should say the same true thing every time. `ASSISTANT_SMALL_TALK=model` lets a bigger
model behind vLLM write the reply instead, and `ASSISTANT_SMALL_TALK_REPLIES` points at a YAML
file of `intent: reply` lines that replace the defaults below.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import yaml
from pydantic import RootModel, ValidationError

from assistant.errors import InputError
from assistant.knowledge.embedder import Embedder
from assistant.turn.heads import LinearHead, load_head
from assistant.wording import addresses_the_assistant, small_talk_as_a_whole

logger = logging.getLogger(__name__)

_ABOUT_ME = (
    "I'm a support assistant, so I stick to what the help center covers. What can I help you with?"
)
_WHO = "I'm the support team's automated assistant. What can I help you with?"
DEFAULT_REPLIES: dict[str, str] = {
    "greeting": "Hello! What can I help you with?",
    "thank_you": "You're welcome! Is there anything else I can help with?",
    "goodbye": "Goodbye, and thanks for getting in touch!",
    "are_you_a_bot": (
        "Yes, I'm an automated assistant. I answer from the help center's articles, and I can "
        "hand you to a person whenever you ask."
    ),
    "what_can_i_ask_you": (
        "Ask me anything the help center covers: I answer from its articles and show you the "
        "sources. If I can't find it, I can hand you to a person."
    ),
    "what_is_your_name": _WHO,
    "who_made_you": _WHO,
    "who_do_you_work_for": _WHO,
}
"""Replies by CLINC150 small-talk intent; every other intent gets `_ABOUT_ME`."""


# The small talk that asks about the assistant itself: the message must speak to it.
# ("Am I chatting with a real person?" needs no "you": its words name the assistant's kind.)
ABOUT_THE_ASSISTANT = frozenset(
    {
        "do_you_have_pets",
        "how_old_are_you",
        "what_are_your_hobbies",
        "what_is_your_name",
        "where_are_you_from",
        "who_do_you_work_for",
        "who_made_you",
    }
)
MIN_READING = 0.7
"""The small-talk head's reading needs at least this probability: a clear reading of one of the
15 intents, not the best of a spread (a question about a product spreads: "I want to make a
claim" read `fun_fact` at 0.51). 0.5 -> 0.7 kept 1511 of CLINC150's 1800 small-talk rows
(1512) and replied to 52 of its 16,200 other rows (72); `benchmarks/small_talk_routing.py`."""


class _Replies(RootModel[dict[str, str]]):
    pass


def load_replies(path: Path | None, intents: list[str]) -> dict[str, str]:
    """The reply of each of `intents`: the defaults, with those of the YAML file at `path`."""
    replies = {intent: DEFAULT_REPLIES.get(intent, _ABOUT_ME) for intent in intents}
    if path is None:
        return replies
    try:
        own = _Replies.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).root
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise InputError(
            f"{path}: not a YAML mapping of small-talk intents to replies ({exc})"
        ) from None
    unknown = sorted(set(own) - set(intents))
    if unknown:
        raise InputError(
            f"{path}: unknown small-talk intent(s) {', '.join(unknown)}; "
            f"the head knows {', '.join(intents)}"
        )
    empty = sorted(intent for intent, text in own.items() if not text.strip())
    if empty:
        raise InputError(f"{path}: empty reply for {', '.join(empty)}")
    return replies | own


class SmallTalk:
    """Which small talk a message is, and the reply for it."""

    def __init__(self, head: LinearHead, embedder: Embedder, replies: dict[str, str]) -> None:
        missing = sorted(set(head.labels) - set(replies))
        if missing:
            raise ValueError(f"no reply for the intent(s) {', '.join(missing)}")
        self.head = head
        self.embedder = embedder
        self.replies = replies

    @classmethod
    def load(cls, folder: Path, embedder: Embedder, replies: Path | None = None) -> SmallTalk:
        head = load_head(folder, "small_talk", embedder=embedder.name)
        return cls(head, embedder, load_replies(replies, head.labels))

    def reading(self, message: str) -> tuple[str, float]:
        """The intent the message most likely is, and its probability."""
        return self.readings([message])[0]

    def readings(self, messages: list[str]) -> list[tuple[str, float]]:
        """`reading` of each message, embedded in one batch."""
        p = self.head.probabilities(self.embedder.embed_documents(messages))
        best = np.argmax(p, axis=1)
        return [(self.head.labels[int(b)], float(row[b])) for b, row in zip(best, p, strict=True)]

    def intent(self, message: str) -> str:
        return self.reading(message)[0]

    def reply(self, message: str) -> str:
        return self.replies[self.intent(message)]


def is_small_talk(message: str, small_talk: SmallTalk | None) -> bool:
    """Whether `message`, which the decide step would reply to, is small talk as a whole.

    Its words must be (`assistant.wording.small_talk_as_a_whole`); where the small-talk
    head is loaded, its reading must be confident (`MIN_READING`), and a reading about the
    assistant itself must come from a message that speaks to it. Anything else is searched:
    searching small talk by mistake ends in a decline, replying to a question fails it.
    """
    if not small_talk_as_a_whole(message):
        return False
    return small_talk is None or reads_as_small_talk(message, small_talk.reading(message))


def reads_as_small_talk(message: str, reading: tuple[str, float]) -> bool:
    """Whether the small-talk head's `reading` (intent, probability) of `message` holds: it is
    confident, and a reading about the assistant comes from a message that speaks to it."""
    intent, probability = reading
    if probability < MIN_READING:
        return False
    return intent not in ABOUT_THE_ASSISTANT or addresses_the_assistant(message)


def open_small_talk(
    kind: str, folder: Path, embedder: Embedder | None, replies: Path | None
) -> SmallTalk | None:
    """The fitted small-talk replies when the settings ask for them and they load; None means
    the model writes the reply (with a warning when the fitted ones were asked for and are
    unusable). A broken replies file is the operator's to fix: that one raises."""
    if kind != "fitted" or embedder is None:
        return None
    try:
        head = load_head(folder, "small_talk", embedder=embedder.name)
    except InputError as exc:
        logger.warning("small talk: the model writes the replies: %s", exc)
        return None
    return SmallTalk(head, embedder, load_replies(replies, head.labels))

"""What a follow-up leans on: the earlier user turns the graph searches with."""

from __future__ import annotations

import pytest

from assistant.triage.support_qa import Turn, leaning_user_turns
from assistant.wording import refers_back


def turns(*texts: str) -> list[Turn]:
    """User turns, each answered by the agent."""
    return [
        t for text in texts for t in (Turn(role="user", text=text), Turn(role="agent", text="..."))
    ]


@pytest.mark.parametrize(
    ("history", "leaned_on"),
    [
        ((), ""),
        (("Can I freeze my membership?",), "Can I freeze my membership?"),
        # The last turn points back ("it"): the one it points at is read too.
        (
            ("Can I freeze my membership?", "How much does it cost?"),
            "Can I freeze my membership? How much does it cost?",
        ),
        # A turn that names its subject stops the walk.
        (
            ("What plans are there?", "How do I cancel Flex?"),
            "How do I cancel Flex?",
        ),
        # At most three turns, however far the pointing goes.
        (
            ("Tell me about Core.", "Is it any good?", "And that one?", "What about it?"),
            "Is it any good? And that one? What about it?",
        ),
    ],
)
def test_a_follow_up_leans_on_the_turns_its_last_one_points_back_to(history, leaned_on):
    assert leaning_user_turns(turns(*history)) == leaned_on


def test_refers_back_reads_words_that_point_at_what_the_message_does_not_name():
    assert refers_back("How much does it cost?")
    assert refers_back("Can I limit that to office hours?")
    assert not refers_back("How much does the freeze cost?")
    assert not refers_back("Iterate items")  # whole words only

"""What zero-shot triage takes for a question: it holds a high or urgent category of one to
clearer evidence, so a report of a problem must not read as one."""

from __future__ import annotations

import pytest

from assistant.triage.zero_shot import QUESTION


@pytest.mark.parametrize(
    "text",
    [
        "How do I rotate the signing secret?",
        "Why can't I log in",
        "does the export include deleted items",
        "  Can I pay by invoice?",
        "My plan renews tomorrow, can I still switch?",
        "Is there an SDK for Rust?  ",
    ],
)
def test_a_question_is_one_by_its_opening_word_or_its_question_mark(text: str) -> None:
    assert QUESTION.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "I can't log in since this morning",
        "The app crashes when I open it",
        "Someone logged into my account. Who did it",
        "However I try, the upload fails",
        "Doesn't work",
    ],
)
def test_a_report_is_not_a_question(text: str) -> None:
    assert not QUESTION.search(text)

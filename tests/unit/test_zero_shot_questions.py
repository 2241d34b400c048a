"""What zero-shot triage takes for a question: it holds a high or urgent category of one to
clearer evidence, so a report of a problem must not read as one."""

from __future__ import annotations

import pytest

from assistant.triage.zero_shot import QUESTION, only_asks


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


@pytest.mark.parametrize(
    "text",
    [
        "How long does a transfer take to arrive?",
        "What does error 502 mean?",
        "Are you open on public holidays?",
        "The client already paid, how do I fix the amount?",  # the other clause is not mine
        "Hi, can I add a second user to my plan?",
        "When will I see my results?",
    ],
)
def test_a_question_that_only_asks_wants_information(text: str) -> None:
    assert only_asks(text)


@pytest.mark.parametrize(
    "text",
    [
        "I paid twice by mistake, can I get my money back?",  # reports first
        "We were charged for a seat we never chose. How do we get it back?",
        "Why is my order late?",  # "why" asks about a failure
        "How come the app doesn't open?",  # a negation reports one
        "Can I not get a refund?",
        "The app crashes when I open it",  # no question at all
    ],
)
def test_a_question_that_reports_does_not_only_ask(text: str) -> None:
    assert not only_asks(text)

"""The whole-message rules: small talk as a whole, and a vague opening message."""

from __future__ import annotations

import pytest
from doubles import chunk

from assistant.turn.clarification import vague_opening
from assistant.turn.small_talk import MIN_READING, is_small_talk, reads_as_small_talk
from assistant.wording import (
    addresses_the_assistant,
    beyond_small_talk,
    only_greeting,
    only_thanks_or_goodbye,
    small_talk_as_a_whole,
    too_vague,
)

SMALL_TALK = [
    "Hello!",
    "hi there",
    "Good morning",
    "Hi, how are you?",
    "Thanks",
    "thanks a lot, that helped",
    "Thank you so much, Sam!",
    "bye",
    "ok thanks bye",
    "see you later",
    "Are you a bot?",
    "What is your name?",
    "Who made you?",
    "Tell me a joke",
    "what can I ask you",
]
QUESTIONS = [
    "What happens when everyone leaves home in Eco mode?",
    "Hi, how do I reset my thermostat?",
    "Thanks! And how do I pair a second sensor?",
    "How old does my battery have to be before I replace it?",
    "Can I see my invoices from last year?",
]


@pytest.mark.parametrize(
    "message",
    ["ok thanks!", "Great, thanks a lot!", "thx", "got it, thank you so much", "cheers, bye"],
)
def test_a_message_that_only_thanks_or_says_goodbye_is_one(message):
    assert only_thanks_or_goodbye(message)


@pytest.mark.parametrize(
    "message",
    [
        "ok",  # may open a question
        "that did not help",
        "thanks for nothing",
        "thanks but it still does not work",
        "Thanks! And how do I pair a second sensor?",
        "help",
    ],
)
def test_a_message_with_more_than_thanks_or_a_negation_is_not(message):
    assert not only_thanks_or_goodbye(message)


@pytest.mark.parametrize("message", SMALL_TALK)
def test_small_talk_is_small_talk_as_a_whole(message):
    assert small_talk_as_a_whole(message), beyond_small_talk(message)


@pytest.mark.parametrize("message", QUESTIONS)
def test_a_question_with_words_beyond_small_talk_is_not(message):
    assert not small_talk_as_a_whole(message)


def test_the_words_beyond_small_talk_are_compared_by_stem():
    assert beyond_small_talk("What happens when everyone leaves home in Eco mode?") == [
        "happen",
        "eco",
        "mode",
    ]
    # One word about something else (a name, a filler) is still small talk; nothing is not.
    assert small_talk_as_a_whole("bye Priya")
    assert not small_talk_as_a_whole("?!")


@pytest.mark.parametrize(
    ("message", "speaks_to_it"),
    [
        ("Where are you from?", True),
        ("Are you a bot?", True),
        ("Who made the thermostat?", False),
        ("Where is my order from?", False),
        ("What do you call my account?", False),
    ],
)
def test_a_question_about_the_assistant_speaks_to_it(message, speaks_to_it):
    assert addresses_the_assistant(message) is speaks_to_it


def test_the_small_talk_heads_reading_must_be_confident_and_about_the_right_one():
    assert reads_as_small_talk("goodbye", ("goodbye", 0.9))
    assert not reads_as_small_talk("bye now", ("goodbye", MIN_READING - 0.01))
    assert reads_as_small_talk("Who made you?", ("who_made_you", 0.95))
    assert not reads_as_small_talk("Who made the app?", ("who_made_you", 0.95))
    # Without a head the words decide.
    assert is_small_talk("Thanks, bye!", None)
    assert not is_small_talk("What happens when everyone leaves home in Eco mode?", None)


@pytest.mark.parametrize(
    "message",
    ["it doesn't work", "error", "How do I change it?", "login issue", "It's broken again!"],
)
def test_a_message_that_names_nothing_is_too_vague(message):
    assert too_vague(message)


@pytest.mark.parametrize(
    "message",
    [
        "How do I change my password?",
        "Eco mode doesn't work when I leave",
        "What are sandboxes?",
        "Why is the thermostat showing an error?",
    ],
)
def test_a_message_that_names_a_thing_is_not(message):
    assert not too_vague(message)


def test_only_an_opening_message_whose_search_found_something_is_asked_about():
    found = [chunk(1), chunk(2)]
    assert vague_opening("it doesn't work", "", found)
    # However far: a message that names nothing is close to no page.
    assert vague_opening("error", "", [chunk(1, score=0.1)])
    assert not vague_opening("it doesn't work", "How do I set up Eco mode?", found)
    assert not vague_opening("How do I change my password?", "", found)
    assert not vague_opening("error", "", [])


@pytest.mark.parametrize(
    "message", ["good morning", "Hi there!", "Hello, how are you?", "Good evening team", "hey"]
)
def test_a_message_that_only_greets_is_a_greeting(message):
    assert only_greeting(message)


@pytest.mark.parametrize(
    "message",
    [
        "Hi, how do I book a class?",
        "good morning, my card was declined",
        "how are you",  # nothing greets: it may be asked of anything
        "hello I need help",
        "thanks",  # thanks, not a greeting: only_thanks_or_goodbye
    ],
)
def test_a_greeting_with_anything_else_is_not_only_one(message):
    assert not only_greeting(message)

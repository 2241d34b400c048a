"""The gateway with deterministic model doubles: option matching, regex checks, streaming."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI

from assistant.errors import AssistantError, ModelUnavailableError
from assistant.llm.embedded import EmbeddedChatModel, to_chat
from assistant.llm.errors import ModelOutputError
from assistant.llm.gateway import build_chat_model, choose, complete, match_option, stream
from assistant.settings import Settings

ACTIONS = ["retrieve", "answer", "clarify", "escalate"]
ASK = [HumanMessage("What should I do?")]


def fake(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(replies))


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("answer", "answer"),
        ("  escalate\n", "escalate"),
        ("Clarify", "clarify"),
        ("I would retrieve documents first.", "retrieve"),
        ("Escalate rather than answer.", "escalate"),  # the option mentioned first wins
    ],
)
def test_match_option_finds_the_option_the_reply_names(reply: str, expected: str) -> None:
    assert match_option(reply, ACTIONS) == expected


def test_match_option_returns_the_options_own_spelling() -> None:
    assert match_option("YES", ["Yes", "No"]) == "Yes"


def test_match_option_matches_whole_words_only() -> None:
    with pytest.raises(ModelOutputError):
        match_option("I do not know", ["no", "yes"])


def test_match_option_prefers_the_longest_option_at_the_same_place() -> None:
    assert match_option("high priority, please", ["high", "high priority"]) == "high priority"


def test_match_option_without_a_match_says_what_was_allowed() -> None:
    with pytest.raises(ModelOutputError, match="retrieve") as caught:
        match_option("banana", ACTIONS)
    assert isinstance(caught.value, AssistantError)


def test_choose_with_a_plain_chat_model_matches_its_reply() -> None:
    assert choose(fake("Sure, let me escalate this."), ASK, ACTIONS) == "escalate"


def test_choose_ignores_the_adapter_on_a_model_without_adapters() -> None:
    assert choose(fake("answer"), ASK, ACTIONS, adapter="triage") == "answer"


def test_choose_raises_when_the_reply_names_no_option() -> None:
    with pytest.raises(ModelOutputError):
        choose(fake("I cannot decide."), ASK, ACTIONS)


def test_choose_needs_options() -> None:
    with pytest.raises(ValueError, match="at least one"):
        choose(fake("answer"), ASK, [])


def test_complete_returns_the_reply_text() -> None:
    assert complete(fake("Paris."), ASK) == "Paris."


def test_complete_returns_a_plain_models_reply_as_is_under_a_regex() -> None:
    # A double cannot be constrained; downstream checks (citations, parsing) judge its reply.
    assert complete(fake("two [9]"), ASK, regex=r"\[[1-3]\]") == "two [9]"


def test_stream_yields_pieces_that_join_to_the_reply() -> None:
    pieces = list(stream(fake("one two three"), ASK))
    assert len(pieces) > 1
    assert "".join(pieces) == "one two three"


def test_to_chat_maps_langchain_roles_to_chat_template_roles() -> None:
    from langchain_core.messages import AIMessage, SystemMessage

    chat = to_chat([SystemMessage("s"), HumanMessage("h"), AIMessage("a")])
    assert chat == [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "h"},
        {"role": "assistant", "content": "a"},
    ]


def test_build_chat_model_for_a_server_uses_every_server_setting(settings: Settings) -> None:
    configured = settings.model_copy(
        update={
            "backend": "openai",
            "base_url": "http://vllm:8000/v1",
            "model_name": "base",
            "request_timeout_s": 7.0,
            "max_retries": 4,
            "max_new_tokens": 33,
        }
    )
    model = build_chat_model(configured)
    assert isinstance(model, ChatOpenAI)
    assert model.openai_api_base == "http://vllm:8000/v1"
    assert model.model_name == "base"
    assert model.request_timeout == 7.0
    assert model.max_retries == 4
    assert model.max_tokens == 33
    assert model.temperature == 0.0


def test_build_chat_model_with_a_missing_model_path_names_the_folder(
    settings: Settings, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelUnavailableError, match="no-such-model"):
        build_chat_model(settings.model_copy(update={"model_path": missing}))


def test_embedded_model_is_importable_without_loading_weights(tmp_path: Path) -> None:
    model = EmbeddedChatModel(model_folder=tmp_path)
    assert model._engine is None

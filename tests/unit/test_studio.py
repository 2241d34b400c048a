"""LangGraph Studio's graph takes its configuration per run, not only from the environment."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from assistant.settings import Settings

# langgraph.json loads the entry file by path, as this does.
_SPEC = importlib.util.spec_from_file_location(
    "support_graph", Path(__file__).resolve().parents[2] / "graphs" / "support.py"
)
assert _SPEC is not None and _SPEC.loader is not None
_SUPPORT = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_SUPPORT)
studio_choices = _SUPPORT.studio_choices


def test_configurable_keys_that_name_a_choice_override_the_settings(settings: Settings) -> None:
    settings.search_mode = "dense"
    config = {"configurable": {"top_k": 3, "answer_mode": "generative", "thread_id": "t-1"}}
    choices = studio_choices(config, settings)
    assert choices.top_k == 3
    assert choices.answer_mode == "generative"
    assert choices.search_mode == "dense"  # not configured: the settings' value


def test_a_bad_configured_value_is_a_validation_error(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="top_k"):
        studio_choices({"configurable": {"top_k": 0}}, settings)


def test_the_graph_is_built_once_whatever_each_run_configures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[Any] = []
    monkeypatch.setattr(_SUPPORT, "Settings", lambda: "settings")
    monkeypatch.setattr(_SUPPORT, "open_store", lambda settings: "store")
    monkeypatch.setattr(_SUPPORT, "build_chat_model", lambda settings: "model")
    monkeypatch.setattr(_SUPPORT, "build_deps", lambda *args: args)
    monkeypatch.setattr(_SUPPORT, "build_graph", lambda deps: built.append(deps) or object())
    _SUPPORT._support_graph.cache_clear()
    try:
        first = _SUPPORT.make_graph({"configurable": {"top_k": 3}})
        second = _SUPPORT.make_graph({"configurable": {"answer_mode": "generative"}})
    finally:
        _SUPPORT._support_graph.cache_clear()
    assert first is second
    assert built == [("settings", "store", "model")]

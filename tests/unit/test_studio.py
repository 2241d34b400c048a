"""LangGraph Studio's graph takes its configuration, not only the environment."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from pydantic import ValidationError

# langgraph.json loads the entry file by path, as this does.
_SPEC = importlib.util.spec_from_file_location(
    "support_graph", Path(__file__).resolve().parents[2] / "graphs" / "support.py"
)
assert _SPEC is not None and _SPEC.loader is not None
_SUPPORT = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_SUPPORT)
studio_settings = _SUPPORT.studio_settings


def test_configurable_keys_that_name_a_setting_override_it() -> None:
    config = {"configurable": {"top_k": 3, "answer_mode": "generative", "thread_id": "t-1"}}
    settings = studio_settings(config)  # type: ignore[arg-type]
    assert settings.top_k == 3
    assert settings.answer_mode == "generative"


def test_a_bad_configured_value_is_a_validation_error() -> None:
    with pytest.raises(ValidationError, match="top_k"):
        studio_settings({"configurable": {"top_k": 0}})  # type: ignore[arg-type]

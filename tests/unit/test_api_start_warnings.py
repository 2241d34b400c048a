"""What `assistant serve` says at start about who can reach which documents."""

from __future__ import annotations

import logging

import pytest

from assistant.interfaces.api.auth import warn_if_open
from assistant.settings import Settings


def _warnings(caplog: pytest.LogCaptureFixture, settings: Settings) -> str:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="assistant.interfaces.api.auth"):
        warn_if_open(settings)
    return caplog.text


def test_keys_that_miss_the_cli_tenant_are_warned_about(caplog: pytest.LogCaptureFixture):
    settings = Settings(_env_file=None, serve_api_keys={"k1": "acme"})  # type: ignore[call-arg]
    said = _warnings(caplog, settings)
    assert "no API key maps to tenant 'default'" in said
    assert "ASSISTANT_TENANT" in said


def test_an_open_api_is_warned_about_and_a_mapped_tenant_is_not(
    caplog: pytest.LogCaptureFixture,
):
    assert "the API is open" in _warnings(caplog, Settings(_env_file=None))  # type: ignore[call-arg]
    mapped = Settings(_env_file=None, serve_api_keys={"k1": "default"})  # type: ignore[call-arg]
    assert _warnings(caplog, mapped) == ""

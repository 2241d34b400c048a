"""Errors of the model gateway, beside the shared ones in ``assistant.errors``."""

from __future__ import annotations

from assistant.errors import AssistantError, ModelUnavailableError


class ModelOutputError(AssistantError):
    """The model answered, but not in the form the caller asked for (no allowed option, a
    reply that does not match the required pattern)."""


class UnknownModelError(ModelUnavailableError):
    """The requested adapter or served model name does not exist."""

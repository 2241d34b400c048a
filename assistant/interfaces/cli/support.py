"""What every command line of the project shares: settings read once, errors as one red line."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from assistant.errors import AssistantError, InputError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")


def print_error(error: AssistantError) -> None:
    Console(stderr=True).print(f"[red]error:[/red] {escape(str(error))}")


def clear_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print an `AssistantError` as one red line on stderr and exit 1, without a traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except AssistantError as error:
            print_error(error)
            raise typer.Exit(1) from None

    return run


def load_settings() -> Settings:
    """The settings, or an `InputError` naming each invalid one (not a pydantic traceback)."""
    from pydantic import ValidationError

    from assistant.settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise InputError(f"invalid settings (ASSISTANT_* variables or .env): {problems}") from None


def quiet_third_party() -> None:
    """Keep the libraries' progress bars, advisories and warnings off the user's terminal.

    Set before torch, transformers and the hub client load (the commands import them lazily),
    so their own switches read these values; our own warnings and logs still show.
    """
    for name, value in (
        ("TRANSFORMERS_VERBOSITY", "error"),
        ("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1"),
        ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(name, value)
    if "transformers" in sys.modules:  # already imported: its switches were read
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity_error()
        transformers_logging.disable_progress_bar()
    warnings.simplefilter("ignore")
    warnings.filterwarnings("default", module=r"assistant\b")


def check_model_server(model: BaseChatModel) -> None:
    """For a command that answers once: a model server that is down is an error at once."""
    from assistant.llm.gateway import is_openai_model

    if is_openai_model(model):
        from assistant.llm.openai_compatible import check_reachable

        check_reachable(model)

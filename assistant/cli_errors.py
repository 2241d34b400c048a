"""How the command line reports an error a user can act on: one red line, exit code 1."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from assistant.errors import AssistantError

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

"""The rich progress bar of a batch run: done/total, the rate, errors and ETA."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


def format_rate(per_second: float | None) -> str:
    """A ticket rate as people read it: ``2.50 tickets/s`` from one a second up, below that
    the seconds each ticket takes (``4.0 s/ticket``), not ``0.25 tickets/s`` (which rounds to
    ``0 tickets/s`` on a slow model); ``--`` while there is no rate yet."""
    if per_second is None or per_second <= 0:
        return "-- tickets/s"
    if per_second >= 1:
        return f"{per_second:.2f} tickets/s"
    return f"{1 / per_second:.1f} s/ticket"


class RateColumn(ProgressColumn):
    """The ticket rate (``format_rate``); rich's own speed column formats bytes."""

    def render(self, task: Task) -> Text:
        return Text(format_rate(task.finished_speed or task.speed), style="cyan")


def batch_progress(console: Console) -> Progress:
    """A progress bar whose task takes an ``errors`` field, shown beside the rate."""
    return Progress(
        TextColumn("[bold]triage"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TextColumn("[red]{task.fields[errors]} errors"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
    )

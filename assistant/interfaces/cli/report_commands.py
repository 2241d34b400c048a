"""`assistant report`: the experiment's variants compared on the interaction log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from assistant.errors import InputError
from assistant.interfaces.cli.support import clear_errors, load_settings

if TYPE_CHECKING:
    from assistant.evaluation.experiment_report import Arm, ExperimentReport

_AGO = re.compile(r"^(\d+)([dh])$")


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """`7d`, `12h`, a date (`2026-12-01`) or an ISO time; naive times are UTC."""
    match = _AGO.match(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
        return (now or datetime.now(UTC)) - delta
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(
            f"--since {text!r}: write a date (2026-12-01), an ISO time or an age (7d, 12h)"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


LogPath = Annotated[
    Path | None,
    typer.Option(help="The interaction log, JSONL or SQLite (default: the settings' log)."),
]
Since = Annotated[
    str | None, typer.Option(help="Only turns from then on: 2026-12-01, an ISO time, 7d, 12h.")
]


@clear_errors
def report_command(
    log: LogPath = None,
    since: Since = None,
    control: Annotated[
        str | None,
        typer.Option(help="The variant the others are tested against (default: first by name)."),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON here.")
    ] = None,
    png: Annotated[
        Path | None,
        typer.Option(help="Also draw the rates with their intervals as a PNG chart here."),
    ] = None,
) -> None:
    """Compare the experiment's variants (ASSISTANT_EXPERIMENT) on the logged turns and ratings:
    rates with 95 % Wilson intervals, latency percentiles with bootstrap intervals, and a
    two-proportion z-test of each variant against the control."""
    from assistant.evaluation.experiment_report import experiment_report
    from assistant.interaction_log import read_log

    path = log or load_settings().interaction_log_path
    contents = read_log(path)
    report = experiment_report(
        contents.rows, since=parse_since(since) if since else None, control=control
    )
    console = Console()
    console.print(report_table(report))
    for line in verdicts(report):
        console.print(line, soft_wrap=True)
    if contents.skipped:
        console.print(f"[yellow]{len(contents.skipped)} unreadable row(s) skipped[/yellow]")
    if json_out is not None:
        json_out.write_text(report.model_dump_json(indent=1) + "\n", encoding="utf-8")
    if png is not None:
        from assistant.evaluation.experiment_plots import rates_chart

        rates_chart(png, report)


def report_table(report: ExperimentReport) -> Table:
    """One column per variant, the control first; a row per measure."""
    from assistant.evaluation.experiment_report import RATES

    title = "Variants on live traffic" + (
        f" since {report.since:%Y-%m-%d %H:%M} UTC" if report.since else ""
    )
    table = Table(
        title=title,
        caption=Text(
            "value [95 % interval]: Wilson for rates, bootstrap for latency; each variant "
            f"against the control: {report.test}"
        ),
    )
    table.add_column("measure")
    for arm in report.arms:
        label = f"{arm.variant} (control)" if arm.variant == report.control else arm.variant
        table.add_column(label, justify="right")
    table.add_row("turns", *(f"{arm.turns:,}" for arm in report.arms))
    table.add_row("threads", *(f"{arm.threads:,}" for arm in report.arms))
    table.add_row("rated turns", *(f"{arm.rated:,}" for arm in report.arms))
    for metric, label in RATES.items():
        table.add_row(label, *(_rate(arm, metric) for arm in report.arms))
    table.add_row("latency p50 (ms)", *(_latency(arm, 50) for arm in report.arms))
    table.add_row("latency p95 (ms)", *(_latency(arm, 95) for arm in report.arms))
    return table


def verdicts(report: ExperimentReport) -> list[str]:
    """A line per (variant, measure) against the control: significant or how far off."""
    from assistant.evaluation.experiment_report import RATES

    lines = []
    for comparison in report.comparisons:
        lines.append(
            f"{comparison.variant} vs {comparison.control}, {RATES[comparison.metric]}: "
            f"{comparison.delta:+.1%} -> {comparison.verdict}"
        )
    return lines


def _rate(arm: Arm, metric: str) -> str:
    rate = arm.rates[metric]
    return f"{rate.rate:.1%} [{rate.low:.1%}, {rate.high:.1%}]"


def _latency(arm: Arm, q: int) -> str:
    latency = arm.latency_p50 if q == 50 else arm.latency_p95
    if latency is None:
        return "-"
    return f"{latency.ms:,.0f} [{latency.low:,.0f}, {latency.high:,.0f}]"

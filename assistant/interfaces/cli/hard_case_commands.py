"""`assistant adapters hard-cases` and `promote`: from the log's hard cases to a checked head."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from assistant.errors import InputError
from assistant.interfaces.cli.report_commands import LogPath, Since, parse_since
from assistant.interfaces.cli.support import clear_errors, load_settings

if TYPE_CHECKING:
    from assistant.training.hard_cases import RoutedText
    from assistant.training.promotion import PromotionDecision


@clear_errors
def hard_cases_command(
    out: Annotated[Path, typer.Option(help="The labelling file to write (JSONL).")],
    log: LogPath = None,
    since: Since = None,
) -> None:
    """List the turns worth a reviewer's label (thumbs down, handed over after an answer,
    citations removed or unsupported, a hedged answer) as a labelling file: fill in
    `category`, `feedback` or `route`, then pass it to `build-data --from-log` or `promote
    router --data`."""
    from assistant.interaction_log import read_log
    from assistant.training.hard_cases import hard_cases, write_hard_cases

    path = log or load_settings().interaction_log_path
    cases = hard_cases(read_log(path).rows, since=parse_since(since) if since else None)
    write_hard_cases(cases, out)
    reasons = Counter(reason for case in cases for reason in case.reasons)
    table = Table("reason", "turns")
    for reason, count in reasons.most_common():
        table.add_row(reason, str(count))
    console = Console()
    console.print(table)
    console.print(f"{len(cases)} hard case(s) written to {out}", soft_wrap=True)


@clear_errors
def promote_command(
    name: Annotated[str, typer.Argument(help="The head to replace: router.")],
    candidate: Annotated[Path, typer.Option(help="Folder of the candidate head (fit --out).")],
    data: Annotated[
        list[Path] | None,
        typer.Option(
            help="Held-back labelled rows (the reviewed hard-cases file: rows with a `route`); "
            "repeatable."
        ),
    ] = None,
    tasks: Annotated[
        Path | None,
        typer.Option(help="Support tasks (all `search`): the shipped check, e.g. support_qa_dev."),
    ] = None,
    fold: Annotated[
        str | None,
        typer.Option(help="I/K: only the --tasks conversations of this fold (fit --hold-out I/K)."),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="How much lower balanced recall still counts as not worse."
        ),
    ] = 0.01,
    force: Annotated[
        bool, typer.Option(help="Promote even if worse (needs --reason, kept in the record).")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why --force.")] = None,
) -> None:
    """Score the candidate and the live head on held-back labelled data; replace the live one
    only when the candidate is not worse (the old one kept under HEADS_DIR/.previous/NAME)."""
    from assistant.knowledge.embedder import open_embedder
    from assistant.training.promotion import promote_head

    rows, named = _held_back(data or [], tasks, fold)
    settings = load_settings()
    decision = promote_head(
        name,
        candidate,
        settings.heads_folder,
        rows,
        open_embedder(settings),
        data=named,
        at=datetime.now(UTC),
        tolerance=tolerance,
        force=force,
        reason=reason,
    )
    _print_decision(Console(), decision)
    if not decision.promoted:
        raise typer.Exit(1)


def _held_back(
    data: list[Path], tasks: Path | None, fold: str | None
) -> tuple[list[RoutedText], list[str]]:
    from assistant.evaluation.datasets import Fold, load_support_qa
    from assistant.training.hard_cases import RoutedText, read_routed

    if not data and tasks is None:
        raise InputError("give held-back labelled data: --data FILE and/or --tasks FILE")
    rows = [row for path in data for row in read_routed(path)]
    named = [str(path) for path in data]
    if tasks is not None:
        chosen = Fold.parse(fold) if fold else None
        questions = [
            q for q in load_support_qa(tasks) if chosen is None or chosen.holds(q.conversation)
        ]
        rows += [
            RoutedText(text=q.question, context=q.previous_question, route="search")
            for q in questions
        ]
        named.append(f"{tasks}" + (f" (fold {fold})" if fold else ""))
    return rows, named


def _print_decision(console: Console, decision: PromotionDecision) -> None:
    table = Table(title=f"promote {decision.name}: {decision.candidate} vs {decision.live}")
    table.add_column("on held-back data")
    table.add_column("live", justify="right")
    table.add_column("candidate", justify="right")
    current, candidate = decision.current_score, decision.candidate_score
    table.add_row("examples", str(current.examples if current else "-"), str(candidate.examples))
    table.add_row(
        "balanced recall",
        f"{current.balanced_recall:.3f}" if current else "-",
        f"{candidate.balanced_recall:.3f}",
    )
    table.add_row(
        "accuracy", f"{current.accuracy:.3f}" if current else "-", f"{candidate.accuracy:.3f}"
    )
    for label, recall in candidate.recall.items():
        before = f"{current.recall[label]:.3f}" if current else "-"
        table.add_row(f"recall {label}", before, f"{recall:.3f}")
    console.print(table)
    if decision.promoted:
        how = "forced: " + (decision.reason or "") if decision.forced else "not worse"
        console.print(
            f"[green]promoted[/green] ({how}); previous kept at {decision.previous_kept_at}"
        )
    else:
        console.print(
            f"[red]refused[/red]: worse than the live head by more than {decision.tolerance} "
            "balanced recall (--force --reason to override)"
        )

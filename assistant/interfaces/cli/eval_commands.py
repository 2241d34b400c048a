"""`assistant eval SUITE --data FILE`: run one evaluation suite and write its report."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from assistant.interfaces.cli.support import clear_errors, load_settings
from assistant.kinds import Suite

DEFAULT_OUT_ROOT = Path("out") / "eval"


@clear_errors
def eval_command(
    suite: Annotated[Suite, typer.Argument(help="retrieval, answers, triage or escalation.")],
    data: Annotated[
        list[Path],
        typer.Option(
            "--data",
            help="Evaluation data (JSONL; formats in docs/evaluation.md). Triage and "
            "escalation accept it more than once (BANKING77 + support QA).",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="Folder for result.json, report.md and the plots (default: out/eval/SUITE-TIME)."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Score this many examples, drawn with --seed.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the --limit draw and of sampling.")] = 0,
    fold: Annotated[
        str | None,
        typer.Option(
            help="I/K: score only the conversations of fold I of K (answers), those that heads "
            "fitted with `--hold-out I/K` never saw."
        ),
    ] = None,
    compare: Annotated[
        str | None,
        typer.Option(
            help="Variants, comma-separated, one table row each: retrieval dense,sparse,hybrid; "
            "answers rag,no-rag; triage/escalation base,lora,baseline,embedded,server."
        ),
    ] = None,
    corpus: Annotated[
        Path | None,
        typer.Option(help="Documents to search, ingested into a fresh temporary index."),
    ] = None,
    use_index: Annotated[
        bool,
        typer.Option("--use-index", help="Search the configured knowledge base instead."),
    ] = False,
    judge_dir: Annotated[
        Path | None,
        typer.Option(
            help="The judge folder the candidate-judge variant reads (answers), e.g. `assistant "
            "adapters fit-judge --from-log LOG --out DIR`'s DIR, against rag's judge in use."
        ),
    ] = None,
) -> None:
    """Evaluate retrieval, answers, triage or escalation; write result.json, report.md, PNGs."""
    # The runners import the model and store stacks: loaded here, not for `assistant --help`.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.evaluation.datasets import Fold
    from assistant.evaluation.report import render_markdown, write_outputs
    from assistant.evaluation.runner import EvalOptions, run_evaluation
    from assistant.evaluation.variants import parse_variants

    variants = parse_variants(suite, compare)
    if "candidate-judge" in variants and judge_dir is None:
        raise typer.BadParameter("the candidate-judge variant needs --judge-dir DIR")
    settings = load_settings()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    options = EvalOptions(
        suite=suite,
        data=data,
        out=out or DEFAULT_OUT_ROOT / f"{suite}-{stamp}",
        limit=limit,
        seed=seed,
        fold=Fold.parse(fold) if fold is not None else None,
        variants=variants,
        corpus=corpus,
        use_index=use_index,
        judge_dir=judge_dir,
    )
    console = Console(stderr=True)
    with (
        tempfile.TemporaryDirectory(prefix="assistant-eval-") as workdir,
        Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        result = run_evaluation(options, settings, workdir=Path(workdir), progress=progress)
    paths = write_outputs(result, options.out)
    typer.echo(render_markdown(result, []))
    console.print(f"wrote {escape(', '.join(str(p) for p in paths))}")

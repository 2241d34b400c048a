"""``assistant triage-batch IN -o OUT``: triage a file of tickets, resumably.

``triage_batch_command`` is a plain command function; mount it with
``app.command("triage-batch")(triage_batch_command)``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from assistant.interfaces.cli.support import clear_errors, load_settings

if TYPE_CHECKING:  # the runner imports the model stack: only the command itself needs it
    from assistant.interfaces.batch.records import FieldMap
    from assistant.interfaces.batch.runner import TicketProcessor
    from assistant.interfaces.batch.summary import BatchSummary
    from assistant.settings import Settings


def triage_batch_command(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="IN", help="Tickets: a .csv (with a header), .jsonl or .parquet file."
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="Results, .jsonl or .csv; an existing file is resumed."
        ),
    ],
    id_field: Annotated[str, typer.Option(help="Column/field with the ticket id.")] = "id",
    text_field: Annotated[str, typer.Option(help="Column/field with the ticket body.")] = "body",
    subject_field: Annotated[
        str | None, typer.Option(help="Column/field with a subject, prepended to the body.")
    ] = None,
    answer: Annotated[
        bool, typer.Option("--answer", help="Also suggest a reply with citations.")
    ] = False,
    tenant: Annotated[str | None, typer.Option(help="Knowledge base tenant for --answer.")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, help="Requests in flight (default ASSISTANT_BATCH_CONCURRENCY; server only)."
        ),
    ] = None,
    retry_errors: Annotated[
        bool,
        typer.Option(
            "--retry-errors",
            help="On a rerun, do again the tickets that ended in an error (bad rows excepted).",
        ),
    ] = False,
    ray: Annotated[
        bool,
        typer.Option(
            "--ray",
            help="Triage on Ray Data workers, block by block (parts in OUT.parts/); past one "
            "machine with --ray-address.",
        ),
    ] = False,
    ray_address: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="With --ray: the cluster's head, HOST:PORT or auto (default "
            "ASSISTANT_RAY_ADDRESS; unset: Ray on this machine).",
        ),
    ] = None,
    ray_workers: Annotated[
        int | None,
        typer.Option(min=1, help="With --ray: workers (default ASSISTANT_RAY_WORKERS)."),
    ] = None,
    block_rows: Annotated[
        int | None,
        typer.Option(
            min=1, help="With --ray: rows per block (default ASSISTANT_BATCH_BLOCK_ROWS)."
        ),
    ] = None,
) -> None:
    """Triage every ticket of IN into OUT; rerun with the same OUT to resume after a stop."""
    from assistant.interfaces.batch.records import FieldMap

    fields = FieldMap(id=id_field, text=text_field, subject=subject_field)
    if ray or ray_address is not None:
        on_ray = RayOptions(address=ray_address, workers=ray_workers, block_rows=block_rows)
        clear_errors(_triage_batch_on_ray)(
            source, output, fields, answer, concurrency, retry_errors, on_ray
        )
        return
    clear_errors(_triage_batch)(source, output, fields, answer, tenant, concurrency, retry_errors)


@dataclass(frozen=True)
class RayOptions:
    """The --ray options the command line gave; None: the setting's value."""

    address: str | None
    workers: int | None
    block_rows: int | None


def _triage_batch_on_ray(
    source: Path,
    output: Path,
    fields: FieldMap,
    answer: bool,
    concurrency: int | None,
    retry_errors: bool,
    options: RayOptions,
) -> None:
    from assistant.errors import InputError
    from assistant.interfaces.batch.blocks import parts_folder_for
    from assistant.interfaces.batch.ray_runner import triage_file_on_ray
    from assistant.interfaces.batch.readers import file_format, output_format

    if answer:
        # An answer needs the knowledge base in every worker; only triage is distributed.
        raise InputError("--answer does not run on Ray; leave out --ray to answer as well")
    file_format(source)
    output_format(output)
    settings = load_settings()
    given = {
        "batch_concurrency": concurrency,
        "ray_workers": options.workers,
        "batch_block_rows": options.block_rows,
    }
    settings = settings.model_copy(update={k: v for k, v in given.items() if v is not None})
    summary = triage_file_on_ray(
        source,
        output,
        fields,
        settings,
        address=options.address or settings.ray_address,
        console=Console(stderr=True),
        retry_errors=retry_errors,
    )
    _print_summary(summary, output, partial=parts_folder_for(output))


def _triage_batch(
    source: Path,
    output: Path,
    fields: FieldMap,
    answer: bool,
    tenant: str | None,
    concurrency: int | None,
    retry_errors: bool,
) -> None:
    from assistant.interfaces.batch.readers import file_format, output_format
    from assistant.interfaces.batch.runner import concurrency_for, stop_on_sigint, triage_file

    settings = load_settings()
    # Refuse bad suffixes before the model loads (seconds) rather than after.
    file_format(source)
    output_format(output)
    console = Console(stderr=True)
    workers = concurrency_for(settings, concurrency)
    if settings.backend != "openai" and concurrency not in (None, 1):
        console.print("[yellow]the embedded model runs one ticket at a time[/yellow]")
    with _processor(settings, answer, tenant) as process, stop_on_sigint() as stop:
        summary = triage_file(
            source,
            output,
            fields,
            process,
            concurrency=workers,
            console=console,
            retry_errors=retry_errors,
            stop=stop,
        )
    _print_summary(summary, output)


@contextmanager
def _processor(settings: Settings, answer: bool, tenant: str | None) -> Iterator[TicketProcessor]:
    from assistant.interfaces.batch.runner import TicketProcessor
    from assistant.llm.gateway import build_chat_model

    if not answer:
        yield TicketProcessor.for_model(build_chat_model(settings), settings)
        return
    from assistant.service import Assistant

    with Assistant.open(settings) as assistant:
        # The fallback triage shares the answer's model: a second embedded model would load
        # the weights twice.
        triage_only = TicketProcessor.for_model(assistant.model, settings)
        # The embedded store runs one call at a time (Edge holds the GIL; local mode is not
        # thread-safe); a server takes concurrent queries.
        lock: AbstractContextManager[object] = (
            nullcontext() if settings.qdrant_url else threading.Lock()
        )
        yield TicketProcessor(
            triage=triage_only.triage,
            answer=lambda text: assistant.ask(text, tenant=tenant),
            answer_lock=lock,
        )


# The exit status of a run stopped by Ctrl-C, as a shell reports a process ended by SIGINT.
INTERRUPTED_EXIT = 130


def _print_summary(summary: BatchSummary, output: Path, partial: Path | None = None) -> None:
    """The tables and where the records are; for an interrupted run, also what was left and
    how to finish it (``partial``: where its records are, when not yet in ``output``), and
    exit ``INTERRUPTED_EXIT``."""
    out = Console()
    for table in summary.tables():
        out.print(table)
    if not summary.interrupted:
        out.print(f"{summary.records} records in {output}")
        return
    where = partial or output
    out.print(
        f"[bold yellow]interrupted:[/bold yellow] {summary.processed} tickets done by this run"
        f" ({summary.resumed} before it), {summary.not_done} not done; the {summary.records}"
        f" records so far are in {where}. Run the same command again to finish: it skips"
        " the tickets already done.",
        soft_wrap=True,
    )
    raise typer.Exit(INTERRUPTED_EXIT)

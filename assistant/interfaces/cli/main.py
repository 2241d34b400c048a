"""The `assistant` command line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from assistant.errors import AssistantError
from assistant.interfaces.cli.adapters_commands import adapters_app, triage_command
from assistant.interfaces.cli.batch_commands import triage_batch_command
from assistant.interfaces.cli.erasure_commands import thread_owner, threads_app, users_app
from assistant.interfaces.cli.eval_commands import eval_command
from assistant.interfaces.cli.hard_case_commands import hard_cases_command, promote_command
from assistant.interfaces.cli.mcp_commands import mcp_command
from assistant.interfaces.cli.report_commands import report_command
from assistant.interfaces.cli.serve_commands import serve_command
from assistant.interfaces.cli.slack_commands import slack_command
from assistant.interfaces.cli.support import (
    check_model_server,
    clear_errors,
    load_settings,
    print_error,
    quiet_third_party,
)
from assistant.kinds import SearchMode

if TYPE_CHECKING:
    from assistant.ingestion.ingest import IngestProgress
    from assistant.schemas import Answer, IngestReport

# Commands import the model, store and graph stacks in their bodies: `assistant --help` and a
# mistyped option answer in a fraction of a second instead of after torch has loaded.

app = typer.Typer(
    help="hybrid-assistant: a support assistant that RAGs the facts and fine-tunes the form.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(adapters_app, name="adapters")
adapters_app.command("hard-cases")(hard_cases_command)
adapters_app.command("promote")(promote_command)
app.add_typer(threads_app, name="threads")
app.add_typer(users_app, name="users")
app.command("triage")(triage_command)
app.command("triage-batch")(triage_batch_command)
app.command("serve")(serve_command)
app.command("eval")(eval_command)
app.command("slack")(slack_command)
app.command("mcp")(mcp_command)
app.command("report")(report_command)
out = Console()
err = Console(stderr=True)


@app.callback()
def main(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Show the libraries' progress bars, warnings and advisories."
        ),
    ] = False,
) -> None:
    if not verbose:
        quiet_third_party()


Tenant = Annotated[str | None, typer.Option(help="Tenant (default: ASSISTANT_TENANT).")]


@app.command()
@clear_errors
def ingest(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Files, folders, or web addresses: a sitemap (…/sitemap.xml) or a start page "
            "whose same-site links are followed.",
            show_default=False,
        ),
    ] = None,
    zendesk: Annotated[
        str | None,
        typer.Option(
            help="Also import this Zendesk Help Center's public articles (its subdomain).",
            metavar="SUBDOMAIN",
        ),
    ] = None,
    max_pages: Annotated[
        int | None,
        typer.Option(min=1, help="Pages one crawl fetches at most (default: crawl_max_pages)."),
    ] = None,
    tenant: Tenant = None,
) -> None:
    """Ingest Markdown, HTML, text, PDF, Word and JSONL files, web pages and a Zendesk Help
    Center into the knowledge base. Crawls honour robots.txt and wait between requests."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.ingestion.ingest import ingest_documents
    from assistant.ingestion.sources import read_sources
    from assistant.ingestion.zendesk import help_center_url
    from assistant.knowledge.store import open_store

    if not sources and not zendesk:
        raise typer.BadParameter("give files, folders or web addresses, or --zendesk")
    settings = load_settings()
    zendesk_url = help_center_url(zendesk, settings.zendesk_url) if zendesk else None
    tenant = tenant or settings.tenant
    documents = read_sources(
        sources or [],
        settings,
        tenant=tenant,
        max_pages=max_pages or settings.crawl_max_pages,
        zendesk_url=zendesk_url,
    )
    store = open_store(settings)
    try:
        with Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
        ) as progress:
            task = progress.add_task("", total=None)

            def on_progress(step: IngestProgress) -> None:
                label = "reading documents" if step.stage == "scan" else "embedding chunks"
                progress.update(task, completed=step.done, total=step.total, description=label)

            report = ingest_documents(
                documents,
                store,
                tenant=tenant,
                max_chars=settings.chunk_max_chars,
                on_progress=on_progress,
                domains=settings.knowledge_domains,
            )
            if report.chunks_added:
                progress.update(task, description="building the search index")
                store.build_index()
    finally:
        store.close()
    _print_report(report)
    if report.errors and report.docs == 0:
        raise typer.Exit(1)


@app.command()
@clear_errors
def search(
    query: str,
    k: Annotated[int | None, typer.Option("--k", "-k", help="How many chunks.")] = None,
    mode: Annotated[SearchMode | None, typer.Option(help="hybrid, dense or sparse.")] = None,
    tenant: Tenant = None,
) -> None:
    """Print the chunks a query retrieves, with their scores (no model call)."""
    from assistant.knowledge.store import open_store

    settings = load_settings()
    store = open_store(settings)
    try:
        chunks = store.search(
            query,
            tenant=tenant or settings.tenant,
            k=k or settings.top_k,
            mode=mode or settings.search_mode,
        )
    finally:
        store.close()
    from rich.table import Table

    table = Table("#", "score", "cosine", "doc", "section", "text")
    for n, c in enumerate(chunks, 1):
        cosine = "" if c.dense_score is None else f"{c.dense_score:.3f}"
        table.add_row(str(n), f"{c.score:.4f}", cosine, c.doc_id, c.section, _clip(c.text, 120))
    out.print(table)


@app.command()
@clear_errors
def ask(
    question: str,
    thread: Annotated[str | None, typer.Option(help="Continue this thread.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the answer model as JSON.")] = False,
    tenant: Tenant = None,
) -> None:
    """Answer one question with citations."""
    from assistant.service import Assistant, check_question

    settings = load_settings()
    # Refuse bad input before the model and the store load.
    check_question(question, settings.max_question_chars)
    with Assistant.open(settings) as assistant:
        check_model_server(assistant.model)
        answer = assistant.ask(question, thread_id=thread, tenant=tenant)
    if json:
        print(answer.model_dump_json(indent=2))
    else:
        _print_answer(answer)


@app.command()
@clear_errors
def resume(
    thread: Annotated[
        str, typer.Argument(help="The thread handed to a human (a Slack one: slack:T:C:TS).")
    ],
    reply: Annotated[str, typer.Argument(help="The human's reply to the customer.")],
    json: Annotated[bool, typer.Option("--json", help="Print the answer model as JSON.")] = False,
    tenant: Tenant = None,
) -> None:
    """Continue a thread that was handed to a human, with the human's reply."""
    from assistant.service import Assistant, check_question

    settings = load_settings()
    check_question(reply, settings.max_question_chars)
    owner = thread_owner(settings, thread, tenant)
    with Assistant.open(settings) as assistant:
        check_model_server(assistant.model)
        answer = assistant.resume(thread, reply, tenant=owner.tenant, via=owner.via)
    if json:
        print(answer.model_dump_json(indent=2))
    else:
        _print_answer(answer)


@app.command()
@clear_errors
def chat(
    thread: Annotated[str | None, typer.Option(help="Continue this thread.")] = None,
    tenant: Tenant = None,
) -> None:
    """Talk to the assistant; the thread is kept between messages and restarts."""
    from assistant.service import Assistant

    with Assistant.open(load_settings()) as assistant:
        check_model_server(assistant.model)
        while True:
            try:
                question = out.input("[bold cyan]you>[/bold cyan] ")
            except (EOFError, KeyboardInterrupt):
                out.print()
                break
            if question.strip() in {"exit", "quit"}:
                break
            try:
                answer = assistant.ask(question, thread_id=thread, tenant=tenant)
            except AssistantError as error:
                print_error(error)
                continue
            thread = answer.thread_id
            _print_answer(answer)
    if thread:
        err.print(f"thread: {thread}")


@app.command()
@clear_errors
def delete(doc_id: str, tenant: Tenant = None) -> None:
    """Remove one document (all its chunks) from the knowledge base."""
    from assistant.knowledge.store import open_store

    settings = load_settings()
    store = open_store(settings)
    try:
        removed = store.delete_document(doc_id, tenant=tenant or settings.tenant)
    finally:
        store.close()
    if not removed:
        err.print(f"[yellow]no document {escape(doc_id)!r} in the knowledge base[/yellow]")
        raise typer.Exit(1)
    out.print(f"deleted {escape(doc_id)}: {removed} chunks")


@app.command()
@clear_errors
def reindex() -> None:
    """Rebuild an index folder written by Qdrant local mode as a Qdrant Edge index.

    Copies every stored chunk with its vectors (nothing is embedded again); the old folder is
    kept beside the new one, renamed, until you delete it.
    """
    from rich.progress import Progress, TextColumn

    from assistant.knowledge.reindex import reindex_local_mode

    settings = load_settings()
    with Progress(
        TextColumn("[bold]reindex"), TextColumn("{task.description}"), console=err
    ) as progress:
        task = progress.add_task("", total=None)

        def on_progress(collection: str, done: int) -> None:
            progress.update(task, description=f"{collection}: {done:,} chunks copied")

        report = reindex_local_mode(settings, on_progress=on_progress)
    for collection, points in report.points.items():
        out.print(f"{escape(collection)}: {points:,} chunks")
    out.print(
        f"{escape(str(report.folder))} is now a Qdrant Edge index; local mode's folder is kept "
        f"at {escape(str(report.backup))} (delete it when you no longer need it)"
    )


def _print_answer(answer: Answer) -> None:
    from assistant.schemas import Outcome

    out.print(escape(answer.text))
    if answer.citations:
        out.print("\n[bold]Sources[/bold]")
        for c in answer.citations:
            where = f" ({escape(c.url)})" if c.url else ""
            out.print(f"  [{c.n}] {escape(c.title or c.doc_id)}{where}")
    if answer.notice:
        out.print(f"\n[yellow]{escape(answer.notice)}[/yellow]")
    if answer.escalation and answer.outcome is Outcome.ESCALATED:
        out.print(
            f"[yellow]handed to a human ({answer.escalation.reason}): "
            f"{escape(answer.escalation.summary)}[/yellow]\n"
            f'[dim]reply with: assistant resume {answer.thread_id} "..."[/dim]'
        )
    if answer.triage:
        t = answer.triage
        out.print(f"[dim]triage: {t.category} · {t.priority} · needs human: {t.needs_human}[/dim]")
    out.print(f"[dim]{answer.outcome.value} · thread {answer.thread_id}[/dim]")


def _print_report(report: IngestReport) -> None:
    from rich.table import Table

    table = Table("docs", "unchanged", "chunks added", "removed", "unchanged", "skipped", "errors")
    table.add_row(
        str(report.docs),
        str(report.docs_unchanged),
        str(report.chunks_added),
        str(report.chunks_removed),
        str(report.chunks_unchanged),
        str(report.skipped),
        str(len(report.errors)),
    )
    out.print(table)
    for message in report.errors:
        err.print(f"[red]error:[/red] {escape(message)}")
    # Kept in the index but never quoted: listed so the team can fix or remove the page.
    for flagged in report.flagged:
        out.print(
            f"[yellow]flagged[/yellow] {escape(flagged.source or flagged.doc_id)} "
            f"({flagged.reason}): {escape(_clip(flagged.sentence, 200))}"
        )


def _clip(text: str, chars: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[: chars - 1] + "…"

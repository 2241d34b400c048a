"""`assistant threads delete|prune` and `assistant users forget`: retention and the right to
erasure, across the thread store, the interaction log and the Slack bot's hand-offs.

They open the stores only (no model, no knowledge base), so they run beside a serving API:
each thread is deleted under its lock, as a turn changes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from assistant.interfaces.cli.support import clear_errors, load_settings

if TYPE_CHECKING:
    from assistant.settings import Settings
    from assistant.thread_erasure import ThreadEraser
    from assistant.thread_store import ThreadOwner

threads_app = typer.Typer(help="Delete threads: one, or those past the retention.")
users_app = typer.Typer(help="Erase everything of one end user.")
out = Console()

Tenant = Annotated[
    str | None,
    typer.Option(
        help="Tenant (default: ASSISTANT_TENANT; a Slack thread's: ASSISTANT_SLACK_TENANT)."
    ),
]


@contextmanager
def opened_eraser(settings: Settings) -> Iterator[ThreadEraser]:
    from assistant.interaction_log import open_interaction_log
    from assistant.thread_erasure import ThreadEraser
    from assistant.thread_store import open_thread_locks, open_thread_store

    checkpointer = open_thread_store(settings)
    log = open_interaction_log(settings)
    days = settings.thread_retention_days
    try:
        yield ThreadEraser(
            checkpointer,
            open_thread_locks(settings),
            log,
            retention=timedelta(days=days) if days else None,
        )
    finally:
        checkpointer.conn.close()
        log.close()


def slack_tenant(settings: Settings) -> str:
    return settings.slack_tenant or settings.tenant


def thread_owner(settings: Settings, thread: str, tenant: str | None) -> ThreadOwner:
    """A Slack thread's id (`slack:TEAM:CHANNEL:TS`, as the bot's log names it) is the bot's;
    any other the API's."""
    from assistant.thread_store import ThreadOwner

    if thread.startswith("slack:"):
        return ThreadOwner(tenant=tenant or slack_tenant(settings), via="slack")
    return ThreadOwner(tenant=tenant or settings.tenant, via="api")


def forget_handoffs(settings: Settings, slack_threads: list[str]) -> int:
    """Delete the Slack bot's hand-offs of these customer threads."""
    from assistant.interfaces.slack.escalations import EscalationStore
    from assistant.interfaces.slack.thread_keys import SlackThread

    customers = [t for tid in slack_threads if (t := SlackThread.from_graph_thread_id(tid))]
    if not customers or not settings.slack_state_path.exists():
        return 0
    with EscalationStore(settings.slack_state_path) as store:
        return store.forget(customers)


@threads_app.command("delete")
@clear_errors
def delete_thread(
    thread: Annotated[str, typer.Argument(help="The thread (a Slack one: slack:TEAM:CHANNEL:TS).")],
    tenant: Tenant = None,
) -> None:
    """Erase one thread: its conversation, its interaction-log rows, its Slack hand-offs."""
    from assistant.service import check_thread_id

    settings = load_settings()
    owner = thread_owner(settings, check_thread_id(thread), tenant)
    with opened_eraser(settings) as eraser:
        erased = eraser.forget_thread(owner, thread)
    handoffs = forget_handoffs(settings, erased.threads) if owner.via == "slack" else 0
    out.print(
        f"deleted thread {thread} ({owner.via}, tenant {owner.tenant}), "
        f"{erased.log_records} interaction-log rows, {handoffs} Slack hand-offs"
    )


@threads_app.command("prune")
@clear_errors
def prune_threads() -> None:
    """Delete the threads idle for longer than ASSISTANT_THREAD_RETENTION_DAYS (for a cron
    job; the API and the Slack bot also do it at start-up and hourly)."""
    settings = load_settings()
    if settings.thread_retention_days is None:
        out.print("ASSISTANT_THREAD_RETENTION_DAYS is unset: threads are kept; nothing deleted")
        return
    with opened_eraser(settings) as eraser:
        gone = eraser.prune_expired()
    out.print(f"deleted {len(gone)} threads idle for over {settings.thread_retention_days} days")


@users_app.command("forget")
@clear_errors
def forget_user(
    user: Annotated[
        str,
        typer.Argument(help="The end user: the `user` the API was given, or a Slack user id."),
    ],
    tenant: Annotated[
        str | None,
        typer.Option(
            help="Tenant (default: ASSISTANT_TENANT, and for Slack threads ASSISTANT_SLACK_TENANT)."
        ),
    ] = None,
) -> None:
    """Erase everything of one end user: their API and Slack threads, their interaction-log
    rows and the Slack bot's hand-offs of their threads."""
    from assistant.thread_store import ThreadOwner

    settings = load_settings()
    with opened_eraser(settings) as eraser:
        api = eraser.forget_user(user, [ThreadOwner(tenant=tenant or settings.tenant)])
        slack = eraser.forget_user(
            user, [ThreadOwner(tenant=tenant or slack_tenant(settings), via="slack")]
        )
    handoffs = forget_handoffs(settings, slack.threads)
    out.print(
        f"erased user {user}: {len(api.threads)} API threads, {len(slack.threads)} Slack "
        f"threads, {api.log_records + slack.log_records} interaction-log rows, "
        f"{handoffs} Slack hand-offs"
    )

"""Run triage (and optionally an answer) over tickets with a bounded thread pool.

Model calls block on I/O (a server) or on torch (the embedded model), so threads are the
right tool: ``concurrency`` requests in flight against a server. The embedded model is not
thread-safe, so ``concurrency_for`` gives it one worker. Only the calling thread writes the
output, in completion order; a worker never touches the file.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.language_models import BaseChatModel
from rich.console import Console

from assistant.errors import AssistantError, InputError
from assistant.interfaces.batch.progress import batch_progress
from assistant.interfaces.batch.readers import output_format, read_tickets
from assistant.interfaces.batch.records import FieldMap, RowError, Ticket, TicketRecord
from assistant.interfaces.batch.summary import BatchSummary
from assistant.interfaces.batch.writer import RecordWriter, drop_records
from assistant.schemas import Answer
from assistant.settings import Settings
from assistant.triage.engines import Triage, build_triage

AnswerFn = Callable[[str], Answer]


def concurrency_for(settings: Settings, requested: int | None = None) -> int:
    """Workers for this backend: ``requested`` (or ``batch_concurrency``) against a server,
    1 for the embedded model, whose weights and LoRA switching are shared, unlocked state."""
    if settings.backend != "openai":
        return 1
    return requested or settings.batch_concurrency


@dataclass
class TicketProcessor:
    """Turns one ticket into its output record; never raises for a per-ticket failure.

    With ``answer``, the answer's own triage (the graph triages every turn with the same
    adapter) is used, so a ticket costs one triage, not two; ``triage`` is called only when
    the graph's triage is missing, to get it or the error. ``answer_lock`` serializes
    answers where the graph's parts are not thread-safe (the embedded store).
    """

    triage: Triage
    answer: AnswerFn | None = None
    answer_lock: AbstractContextManager[object] = field(default_factory=nullcontext)

    @classmethod
    def for_model(cls, model: BaseChatModel, settings: Settings | None = None) -> TicketProcessor:
        """Triage by the engine ``settings`` choose (default: the shipped adapter and policy)."""
        return cls(triage=build_triage(settings or Settings(), model))

    def __call__(self, ticket: Ticket) -> TicketRecord:
        record = TicketRecord(id=ticket.id, line=ticket.line)
        try:
            reading = None
            if self.answer is not None:
                with self.answer_lock:
                    answer = self.answer(ticket.text)
                record.answer = answer.text
                record.citations = answer.citations
                reading = answer.triage
            if reading is None:
                reading = self.triage(ticket.text)
        except AssistantError as error:
            record.error = f"{type(error).__name__}: {error}"
            return record
        except Exception as error:  # one ticket's failure must not end the run
            record.error = f"unexpected {type(error).__name__}: {error}"
            return record
        record.category = reading.category
        record.priority = reading.priority
        record.needs_human = reading.needs_human
        return record


def run_batch(
    rows: Iterable[Ticket | RowError],
    writer: RecordWriter,
    process: Callable[[Ticket], TicketRecord],
    *,
    concurrency: int = 1,
    on_record: Callable[[TicketRecord], None] | None = None,
) -> int:
    """Process every row and write its record as it completes; returns how many.

    Bad rows are written as error records at once. At most ``concurrency`` tickets are in
    flight, so memory stays flat on a large input and a kill loses at most that many calls.
    """
    written = 0

    def emit(record: TicketRecord) -> None:
        nonlocal written
        writer.write(record)
        written += 1
        if on_record is not None:
            on_record(record)

    pending: set[Future[TicketRecord]] = set()
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="triage")
    try:
        for row in rows:
            if isinstance(row, RowError):
                emit(TicketRecord.from_row_error(row))
                continue
            if len(pending) >= concurrency:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    emit(future.result())
            pending.add(pool.submit(process, row))
        for future in _as_finished(pending):
            emit(future.result())
    finally:
        # On an interrupt, drop what has not started; results not written are redone on
        # the next run, as after a kill.
        pool.shutdown(wait=True, cancel_futures=True)
    return written


def _as_finished(pending: set[Future[TicketRecord]]) -> Iterable[Future[TicketRecord]]:
    while pending:
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        yield from finished


def triage_file(
    source: Path,
    output: Path,
    fields: FieldMap,
    process: Callable[[Ticket], TicketRecord],
    *,
    concurrency: int = 1,
    console: Console | None = None,
    retry_errors: bool = False,
) -> BatchSummary:
    """Triage the tickets of ``source`` into ``output``, resuming what it already holds.

    The input is read and checked whole before the first model call (``InputError`` for a
    file that cannot be used). ``console`` shows a progress bar; None runs quietly. With
    ``retry_errors``, tickets whose earlier record is an error (a model server that was down,
    say) are done again; bad rows are not, as they would fail the same way.
    """
    if source.resolve() == output.resolve():
        raise InputError(f"{output}: the output must not be the input file")
    output_format(output)  # an unsupported output suffix is refused before the work starts
    rows = read_tickets(source, fields)
    if retry_errors and output.exists():
        tickets = {row.key for row in rows if not isinstance(row, RowError)}
        drop_records(output, lambda record: record.error is not None and record.key in tickets)
    writer, earlier = RecordWriter.open(output)
    done = {record.key for record in earlier}
    todo = [row for row in rows if row.key not in done]
    new: list[TicketRecord] = []
    started = time.perf_counter()
    with writer, ExitStack() as stack:
        progress = stack.enter_context(batch_progress(console)) if console else None
        task = progress.add_task("", total=len(todo), errors=0) if progress else None
        errors = 0

        def on_record(record: TicketRecord) -> None:
            nonlocal errors
            new.append(record)
            errors += record.error is not None
            if progress is not None and task is not None:
                progress.update(task, advance=1, errors=errors)

        run_batch(todo, writer, process, concurrency=concurrency, on_record=on_record)
    return BatchSummary.of(earlier, new, time.perf_counter() - started)

"""Run triage (and optionally an answer) over tickets with a bounded thread pool.

Model calls block on I/O (a server) or on torch (the embedded model), so threads are the
right tool: ``concurrency`` requests in flight against a server. The embedded model is not
thread-safe, so ``concurrency_for`` gives it one worker. Only the calling thread writes the
output, in input order whatever order the tickets finish in; a worker never touches the file.
A Ctrl-C under ``stop_on_sigint`` stops the run between two records, at once, with a summary.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

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


# How far ahead of the oldest unwritten ticket the workers may run, in multiples of
# ``concurrency``: a slow ticket holds back the writing of those after it (input order) but
# not the model calls, until the window is full.
REORDER_WINDOW = 4
# How often the writing thread looks at ``stop`` while no ticket finishes.
POLL_S = 0.1


def run_batch(
    rows: Iterable[Ticket | RowError],
    writer: RecordWriter,
    process: Callable[[Ticket], TicketRecord],
    *,
    concurrency: int = 1,
    on_record: Callable[[TicketRecord], None] | None = None,
    stop: threading.Event | None = None,
) -> int:
    """Process every row and write its record in input order; returns how many were written.

    Bad rows become error records in their place. At most ``concurrency`` tickets are in
    flight and at most ``REORDER_WINDOW * concurrency`` unwritten, so memory stays flat on a
    large input and a kill loses at most that many calls. When ``stop`` is set (Ctrl-C), no
    more tickets start and no more records are written, within ``POLL_S``: the calls in
    flight are left to their daemon threads (a model call can take many seconds) and their
    results, like those held back behind an unfinished ticket, are redone on the next run.
    """
    stop = stop or threading.Event()
    todo = enumerate(rows)
    window = REORDER_WINDOW * concurrency
    pool = _DaemonPool(process, concurrency)
    finished: dict[int, TicketRecord] = {}  # done, waiting for the tickets before them
    submitted = written = in_flight = 0
    exhausted = False
    try:
        while not stop.is_set():
            while not exhausted and in_flight < concurrency and submitted - written < window:
                row = next(todo, None)
                if row is None:
                    exhausted = True
                    break
                index, item = row
                if isinstance(item, RowError):
                    finished[index] = TicketRecord.from_row_error(item)
                else:
                    pool.submit(index, item)
                    in_flight += 1
                submitted += 1
            while written in finished and not stop.is_set():
                record = finished.pop(written)
                writer.write(record)
                written += 1
                if on_record is not None:
                    on_record(record)
            if exhausted and written == submitted:
                break
            if in_flight:
                outcome = pool.next_done(POLL_S)
                if outcome is not None:
                    in_flight -= 1
                    index, record = outcome
                    finished[index] = record
    finally:
        pool.close()
    return written


class _DaemonPool:
    """``workers`` daemon threads running ``process``; results come back on a queue.

    Not a ``ThreadPoolExecutor``: its threads are joined at interpreter exit, so a Ctrl-C
    would wait for every model call in flight (seconds each on a slow server or CPU model).
    A daemon thread is dropped at exit; its ticket is redone on the rerun.
    """

    def __init__(self, process: Callable[[Ticket], TicketRecord], workers: int) -> None:
        self._process = process
        self._todo: queue.Queue[tuple[int, Ticket] | None] = queue.Queue()
        self._done: queue.Queue[tuple[int, TicketRecord | BaseException]] = queue.Queue()
        for number in range(workers):
            threading.Thread(target=self._work, name=f"triage-{number}", daemon=True).start()
        self._workers = workers

    def _work(self) -> None:
        while (item := self._todo.get()) is not None:
            index, ticket = item
            try:
                result: TicketRecord | BaseException = self._process(ticket)
            except BaseException as error:  # handed to the caller, which raises it
                result = error
            self._done.put((index, result))

    def submit(self, index: int, ticket: Ticket) -> None:
        self._todo.put((index, ticket))

    def next_done(self, timeout: float) -> tuple[int, TicketRecord] | None:
        """The next finished ticket, or None after ``timeout`` seconds without one; raises
        what ``process`` raised."""
        try:
            index, result = self._done.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(result, BaseException):
            raise result
        return index, result

    def close(self) -> None:
        """Start nothing more; the workers end after their current ticket (not waited for)."""
        while True:
            try:
                self._todo.get_nowait()
            except queue.Empty:
                break
        for _ in range(self._workers):
            self._todo.put(None)


@contextmanager
def stop_on_sigint() -> Iterator[threading.Event]:
    """An event the first Ctrl-C (SIGINT) sets instead of raising ``KeyboardInterrupt``, for
    ``triage_file(stop=...)``: the run then stops between records and reports. A second
    Ctrl-C interrupts as usual. Outside the main thread signals cannot be caught: the event
    is never set there."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signal.SIGINT, previous)

    try:
        previous: Callable[[int, FrameType | None], Any] | int | None = signal.signal(
            signal.SIGINT, handler
        )
    except ValueError:  # not the main thread
        yield stop
        return
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def triage_file(
    source: Path,
    output: Path,
    fields: FieldMap,
    process: Callable[[Ticket], TicketRecord],
    *,
    concurrency: int = 1,
    console: Console | None = None,
    retry_errors: bool = False,
    stop: threading.Event | None = None,
) -> BatchSummary:
    """Triage the tickets of ``source`` into ``output``, resuming what it already holds.

    The input is read and checked whole before the first model call (``InputError`` for a
    file that cannot be used). ``console`` shows a progress bar; None runs quietly. With
    ``retry_errors``, tickets whose earlier record is an error (a model server that was down,
    say) are done again; bad rows are not, as they would fail the same way. Setting ``stop``
    (``stop_on_sigint``) ends the run early: the summary says it was interrupted and how many
    tickets were left, and a rerun does those.
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

        run_batch(todo, writer, process, concurrency=concurrency, on_record=on_record, stop=stop)
    return BatchSummary.of(
        earlier,
        new,
        time.perf_counter() - started,
        interrupted=stop is not None and stop.is_set(),
        not_done=len(todo) - len(new),
    )

"""Running a batch: per-ticket errors recorded not raised, bounded concurrency, the summary."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from batch_fakes import banking_texts, triage_double
from rich.console import Console

from assistant.errors import InputError, ModelUnavailableError
from assistant.interfaces.batch.progress import format_rate
from assistant.interfaces.batch.records import FieldMap, RowError, Ticket, TicketRecord
from assistant.interfaces.batch.runner import (
    TicketProcessor,
    concurrency_for,
    run_batch,
    triage_file,
)
from assistant.interfaces.batch.summary import BatchSummary
from assistant.interfaces.batch.writer import RecordWriter
from assistant.schemas import Action, Answer, Citation, Outcome, TriageResult
from assistant.settings import Settings
from assistant.triage.examples import triage_result

# These tests read the scripted model's replies: the adapter engine, not the default.
ADAPTER = Settings(_env_file=None, triage_engine="adapter")  # type: ignore[call-arg]


@pytest.fixture
def labelled(shared_data: Path) -> list[tuple[str, str]]:
    return banking_texts(shared_data, 6)


def test_a_ticket_is_recorded_with_the_triage_the_model_gave(labelled):
    text, label = labelled[0]
    process = TicketProcessor.for_model(triage_double({text: label}), ADAPTER)
    record = process(Ticket(id="1", text=text, line=2))
    expected = triage_result(label)
    assert (record.category, record.priority, record.needs_human) == (
        expected.category,
        expected.priority,
        expected.needs_human,
    )
    assert record.error is None


def test_an_invalid_model_reply_is_recorded_as_the_tickets_error(labelled):
    record = TicketProcessor.for_model(triage_double({}), ADAPTER)(
        Ticket(id="1", text="hi", line=2)
    )
    assert record.category is None
    assert record.error is not None and record.error.startswith("ModelOutputError: ")


def test_an_unexpected_exception_is_recorded_too_not_raised():
    def broken(text: str) -> TriageResult:
        raise RuntimeError("connection reset")

    record = TicketProcessor(triage=broken)(Ticket(id="1", text="hi", line=2))
    assert record.error == "unexpected RuntimeError: connection reset"


def test_with_answer_the_answers_own_triage_is_used_and_triage_is_not_called_again(labelled):
    text, label = labelled[0]
    reading = triage_result(label)
    answer = Answer(
        text="Wait five days [1].",
        citations=[Citation(n=1, doc_id="cards.md", chunk_id="c1")],
        outcome=Outcome.ANSWERED,
        action=Action.RETRIEVE,
        triage=reading,
    )
    calls: list[str] = []

    def count(t: str) -> TriageResult:
        calls.append(t)
        return reading

    process = TicketProcessor(triage=count, answer=lambda t: answer)
    record = process(Ticket(id="1", text=text, line=2))
    assert record.answer == "Wait five days [1]." and record.citations == answer.citations
    assert record.category == label
    assert calls == []


def test_an_answer_without_triage_falls_back_to_the_triage_call(labelled):
    text, label = labelled[0]
    untriaged = Answer(text="Sorry.", outcome=Outcome.DECLINED, action=Action.RETRIEVE)
    process = TicketProcessor.for_model(triage_double({text: label}), ADAPTER)
    process.answer = lambda t: untriaged
    record = process(Ticket(id="1", text=text, line=2))
    assert record.category == label and record.answer == "Sorry."


def test_no_more_than_concurrency_tickets_are_in_flight(tmp_path):
    in_flight, peak, lock = 0, 0, threading.Lock()

    def slow(ticket: Ticket) -> TicketRecord:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.01)
        with lock:
            in_flight -= 1
        return TicketRecord(id=ticket.id, line=ticket.line, error="x")

    rows = [Ticket(id=str(i), text="t", line=i) for i in range(1, 41)]
    with RecordWriter.open(tmp_path / "out.jsonl")[0] as writer:
        written = run_batch(rows, writer, slow, concurrency=3)
    assert written == 40
    assert peak == 3


def test_records_are_written_in_input_order_when_tickets_finish_out_of_order(tmp_path, shared_data):
    labelled = banking_texts(shared_data, 16)
    # Latency varies by ticket: the first of every four is the slowest, so with four in
    # flight the later ones finish first.
    delays = {text: [0.12, 0.01, 0.06, 0.0][i % 4] for i, (text, _) in enumerate(labelled)}
    model = triage_double(dict(labelled), delays=delays)
    process = TicketProcessor.for_model(model, ADAPTER)
    finished: list[str] = []

    def timed(ticket: Ticket) -> TicketRecord:
        record = process(ticket)
        finished.append(ticket.id)
        return record

    rows: list[Ticket | RowError] = [
        Ticket(id=f"T{i:02d}", text=text, line=i + 1) for i, (text, _) in enumerate(labelled)
    ]
    rows.insert(5, RowError(line=99, error="invalid JSON"))
    with RecordWriter.open(tmp_path / "out.jsonl")[0] as writer:
        assert run_batch(rows, writer, timed, concurrency=4) == 17
    assert finished != sorted(finished)  # they did finish out of order
    written = RecordWriter.open(tmp_path / "out.jsonl")[1]
    assert [r.key for r in written] == [row.key for row in rows]
    assert [r.category for r in written if r.error is None] == [label for _, label in labelled]


def test_a_stop_ends_the_run_at_once_without_waiting_for_the_calls_in_flight(tmp_path):
    stop, never = threading.Event(), threading.Event()

    def process(ticket: Ticket) -> TicketRecord:
        if ticket.id == "3":
            stop.set()  # Ctrl-C while ticket 3 is in flight...
        if ticket.id in {"3", "4"}:
            never.wait(30)  # ...and its call (and the next) would take long
        return TicketRecord(id=ticket.id, line=ticket.line, error="x")

    rows = [Ticket(id=str(i), text="t", line=i) for i in range(1, 41)]
    started = time.perf_counter()
    with RecordWriter.open(tmp_path / "out.jsonl")[0] as writer:
        written = run_batch(rows, writer, process, concurrency=2, stop=stop)
    never.set()
    assert time.perf_counter() - started < 2
    # Ticket 3 starts once 1 or 2 is done: what was written by then is all that is written.
    assert written <= 2
    assert [r.id for r in RecordWriter.open(tmp_path / "out.jsonl")[1]] == ["1", "2"][:written]


def test_an_interrupted_file_run_says_so_and_how_many_are_left_and_a_rerun_finishes_it(
    tmp_path,
):
    source = tmp_path / "t.jsonl"
    source.write_text("".join(f'{{"id": "{i}", "body": "text {i}"}}\n' for i in range(1, 11)))
    stop = threading.Event()

    def process(ticket: Ticket) -> TicketRecord:
        if ticket.id == "4":
            stop.set()
        return TicketRecord(id=ticket.id, line=ticket.line, error="x")

    out = tmp_path / "out.jsonl"
    summary = triage_file(source, out, FieldMap(), process, stop=stop)
    assert summary.interrupted
    assert (summary.processed, summary.not_done) == (summary.records, 10 - summary.records)
    assert 3 <= summary.records <= 4
    summary = triage_file(source, out, FieldMap(), process)
    assert not summary.interrupted and summary.not_done == 0
    assert summary.resumed + summary.processed == summary.records == 10
    assert [r.id for r in RecordWriter.open(out)[1]] == [str(i) for i in range(1, 11)]


def test_row_errors_are_written_without_calling_the_model(tmp_path):
    calls: list[Ticket] = []

    def process(ticket: Ticket) -> TicketRecord:
        calls.append(ticket)
        return TicketRecord(id=ticket.id, line=ticket.line, error="x")

    rows = [RowError(line=2, error="invalid JSON"), Ticket(id="a", text="t", line=3)]
    with RecordWriter.open(tmp_path / "out.jsonl")[0] as writer:
        run_batch(rows, writer, process)
    assert [t.id for t in calls] == ["a"]
    assert [r.line for r in RecordWriter.open(tmp_path / "out.jsonl")[1]] == [2, 3]


def test_the_embedded_backend_gets_one_worker_and_a_server_the_setting(settings):
    assert concurrency_for(settings, 16) == 1
    server = settings.model_copy(update={"backend": "openai", "batch_concurrency": 6})
    assert concurrency_for(server) == 6
    assert concurrency_for(server, 2) == 2


def test_the_summary_counts_the_whole_output_and_the_rate_of_this_run():
    earlier = [
        TicketRecord(id="1", line=1, category="card_arrival", priority="normal", needs_human=False)
    ]
    new = [
        TicketRecord(
            id="2", line=2, category="lost_or_stolen_card", priority="urgent", needs_human=True
        ),
        TicketRecord(id="3", line=3, category="card_arrival", priority="normal", needs_human=False),
        TicketRecord(id=None, line=4, error="invalid JSON"),
    ]
    summary = BatchSummary.of(earlier, new, seconds=2.0)
    assert summary.records == 4 and summary.resumed == 1 and summary.processed == 3
    assert summary.categories == {"card_arrival": 2, "lost_or_stolen_card": 1}
    assert summary.priorities == {"normal": 2, "urgent": 1}
    assert summary.needs_human == 1 and summary.errors == 1
    assert summary.throughput == 1.5


@pytest.mark.parametrize(
    ("per_second", "shown"),
    [
        (12.345, "12.35 tickets/s"),
        (1.0, "1.00 tickets/s"),
        (0.5, "2.0 s/ticket"),
        (0.04, "25.0 s/ticket"),  # a slow model: not "0.04 tickets/s", never "0 tickets/s"
        (None, "-- tickets/s"),
        (0.0, "-- tickets/s"),
    ],
)
def test_the_rate_reads_tickets_per_second_from_one_a_second_up_else_seconds_per_ticket(
    per_second, shown
):
    assert format_rate(per_second) == shown


def test_the_summary_of_a_slow_run_shows_seconds_per_ticket():
    new = [TicketRecord(id="1", line=1, error="x"), TicketRecord(id="2", line=2, error="x")]
    console = Console(width=200, record=True)
    for table in BatchSummary.of([], new, seconds=9.0).tables():
        console.print(table)
    assert "4.5 s/ticket" in console.export_text()


def test_the_input_file_cannot_be_the_output(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": "1", "body": "x"}\n')
    with pytest.raises(InputError, match="must not be the input"):
        triage_file(path, path, FieldMap(), TicketProcessor(triage=triage_result))


def test_a_model_server_error_is_a_per_ticket_error():
    def down(text: str) -> TriageResult:
        raise ModelUnavailableError("cannot reach http://gpu:8000/v1")

    record = TicketProcessor(triage=down)(Ticket(id="1", text="t", line=1))
    assert record.error == "ModelUnavailableError: cannot reach http://gpu:8000/v1"

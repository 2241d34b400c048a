"""The output file: whole records, and a killed run's output resumed without loss or tear."""

from __future__ import annotations

import json

import pytest

from assistant.errors import InputError
from assistant.interfaces.batch.records import CSV_COLUMNS, TicketRecord
from assistant.interfaces.batch.writer import RecordWriter, replace_with_records
from assistant.schemas import Citation

TRIAGED = TicketRecord(
    id="1", line=2, category="card_arrival", priority="normal", needs_human=False
)
FAILED = TicketRecord(id=None, line=3, error="invalid JSON: Expecting value")
ANSWERED = TicketRecord(
    id="2",
    line=4,
    category="lost_or_stolen_card",
    priority="urgent",
    needs_human=True,
    answer='Freeze the card.\nThen call us, "today" [1].',
    citations=[Citation(n=1, doc_id="cards.md", chunk_id="c1", title="Cards")],
)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_records_written_are_read_back_on_reopen(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    writer, done = RecordWriter.open(path)
    assert done == []
    with writer:
        for record in (TRIAGED, FAILED, ANSWERED):
            writer.write(record)
    writer, done = RecordWriter.open(path)
    writer.close()
    assert done == [TRIAGED, FAILED, ANSWERED]


def test_jsonl_records_leave_out_what_is_not_set(tmp_path):
    path = tmp_path / "out.jsonl"
    with RecordWriter.open(path)[0] as writer:
        writer.write(TRIAGED)
        writer.write(FAILED)
    assert [json.loads(line) for line in path.read_text().splitlines()] == [
        {
            "id": "1",
            "line": 2,
            "category": "card_arrival",
            "priority": "normal",
            "needs_human": False,
        },
        {"line": 3, "error": "invalid JSON: Expecting value"},
    ]


def test_a_torn_jsonl_tail_is_truncated_and_appending_continues_after_it(tmp_path):
    path = tmp_path / "out.jsonl"
    with RecordWriter.open(path)[0] as writer:
        writer.write(TRIAGED)
    whole = path.read_bytes()
    path.write_bytes(whole + ANSWERED.model_dump_json().encode()[:25])
    writer, done = RecordWriter.open(path)
    assert done == [TRIAGED]
    assert path.read_bytes() == whole
    with writer:
        writer.write(FAILED)
    assert RecordWriter.open(path)[1] == [TRIAGED, FAILED]


@pytest.mark.parametrize("cut", ["inside the quoted newline", "before the quoted newline"])
def test_a_torn_csv_tail_is_truncated_even_when_cut_at_a_quoted_newline(tmp_path, cut):
    path = tmp_path / "out.csv"
    with RecordWriter.open(path)[0] as writer:
        writer.write(TRIAGED)
    whole = path.read_bytes()
    with RecordWriter.open(path)[0] as writer:
        writer.write(ANSWERED)
    full = path.read_bytes()
    # The answer has a newline inside its quoted cell: a cut just after it ends in "\n"
    # but is not a whole record.
    newline = full.index(b"\n", len(whole)) + 1
    path.write_bytes(full[:newline] if cut.startswith("inside") else full[: newline - 3])
    writer, done = RecordWriter.open(path)
    writer.close()
    assert done == [TRIAGED]
    assert path.read_bytes() == whole


def test_a_torn_csv_header_is_rewritten(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("id,li")
    with RecordWriter.open(path)[0] as writer:
        writer.write(TRIAGED)
    assert path.read_text().splitlines()[0] == ",".join(CSV_COLUMNS)
    assert RecordWriter.open(path)[1] == [TRIAGED]


@pytest.mark.parametrize(
    ("name", "content"),
    [("out.jsonl", '{"question": "not ours"}\n'), ("out.csv", "a,b,c\n1,2,3\n")],
)
def test_a_file_that_is_not_a_batch_output_is_refused_not_appended_to(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError, match="not a triage-batch output"):
        RecordWriter.open(path)
    assert path.read_text() == content


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_an_output_replaced_whole_reads_back_as_the_same_records(tmp_path, suffix):
    path = tmp_path / f"out{suffix}"
    path.write_text("left from before\n")
    records = [
        TicketRecord(id="a", line=1, category="card_arrival", priority="normal", needs_human=False),
        TicketRecord(line=2, error="invalid JSON: Expecting value"),
    ]
    assert replace_with_records(path, records) == 2
    writer, found = RecordWriter.open(path)
    writer.close()
    assert found == records
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left

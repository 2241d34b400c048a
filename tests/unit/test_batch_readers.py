"""Reading tickets: field mapping, bad rows with their line numbers, and whole-file errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_fakes import banking_texts

from assistant.errors import InputError
from assistant.interfaces.batch.readers import read_tickets
from assistant.interfaces.batch.records import FieldMap, RowError, Ticket


@pytest.fixture
def texts(shared_data: Path) -> list[str]:
    return [text for text, _ in banking_texts(shared_data, 4)]


def test_csv_columns_are_mapped_and_the_subject_is_prepended(tmp_path, texts):
    path = tmp_path / "in.csv"
    path.write_text(f'ref,title,message\nA1,Card,"{texts[0]}"\nA2,,"{texts[1]}"\n')
    rows = read_tickets(path, FieldMap(id="ref", text="message", subject="title"))
    assert rows == [
        Ticket(id="A1", text=f"Card\n\n{texts[0]}", line=2),
        Ticket(id="A2", text=texts[1], line=3),
    ]


def test_jsonl_fields_are_mapped_and_numeric_ids_become_text(tmp_path, texts):
    path = tmp_path / "in.jsonl"
    path.write_text(f'{{"n": 7, "msg": "{texts[0]}"}}\n\n{{"n": 8, "msg": "{texts[1]}"}}\n')
    rows = read_tickets(path, FieldMap(id="n", text="msg"))
    assert rows == [Ticket(id="7", text=texts[0], line=1), Ticket(id="8", text=texts[1], line=3)]


def test_a_quoted_newline_keeps_the_next_csv_row_on_its_own_line_number(tmp_path, texts):
    path = tmp_path / "in.csv"
    path.write_text(f'id,body\n1,"{texts[0]}\nsecond line"\n2,{texts[1]}\n')
    rows = read_tickets(path, FieldMap())
    assert [(r.id, r.line) for r in rows] == [("1", 2), ("2", 4)]
    assert rows[0].text == f"{texts[0]}\nsecond line"


def test_malformed_csv_rows_become_row_errors_with_their_line_and_the_rest_is_read(tmp_path, texts):
    path = tmp_path / "in.csv"
    path.write_text(
        f"id,body\n1,{texts[0]}\n2,{texts[1]},extra\n3\n4,\n,{texts[2]}\n5,{texts[3]}\n"
    )
    rows = read_tickets(path, FieldMap())
    assert [type(r).__name__ for r in rows] == [
        "Ticket",
        "RowError",
        "RowError",
        "RowError",
        "RowError",
        "Ticket",
    ]
    errors = {r.line: r for r in rows if isinstance(r, RowError)}
    assert errors[3].id == "2" and "3 fields, the header has 2" in errors[3].error
    assert errors[4].id == "3" and "1 fields" in errors[4].error
    assert errors[5].id == "4" and "empty 'body'" in errors[5].error
    assert errors[6].id is None and "no 'id'" in errors[6].error


def test_an_unterminated_quote_at_the_end_is_one_row_error_after_the_good_rows(tmp_path, texts):
    path = tmp_path / "in.csv"
    path.write_text(f'id,body\n1,{texts[0]}\n2,"{texts[1]}\n3,{texts[2]}\n')
    rows = read_tickets(path, FieldMap())
    assert rows[0] == Ticket(id="1", text=texts[0], line=2)
    assert rows[1] == RowError(line=3, error="malformed CSV: unexpected end of data")


def test_malformed_jsonl_lines_become_row_errors_with_their_line(tmp_path, texts):
    path = tmp_path / "in.jsonl"
    path.write_text(
        f'{{"id": "1", "body": "{texts[0]}"}}\n{{"id": "2", "body": \n[1, 2]\n'
        f'{{"id": "3", "body": 5}}\n{{"id": "4", "body": "{texts[1]}"}}\n'
    )
    rows = read_tickets(path, FieldMap())
    assert [(r.line, r.error if isinstance(r, RowError) else "ok") for r in rows] == [
        (1, "ok"),
        (2, "invalid JSON: Expecting value"),
        (3, "not a JSON object"),
        (4, "'body' is not text"),
        (5, "ok"),
    ]


def test_duplicate_ids_are_refused_up_front_naming_both_lines(tmp_path, texts):
    path = tmp_path / "in.csv"
    path.write_text(f"id,body\n1,{texts[0]}\n2,{texts[1]}\n1,{texts[2]}\n")
    with pytest.raises(InputError, match=r"duplicate ticket ids '1' \(lines 2 and 4\)"):
        read_tickets(path, FieldMap())


def test_an_unknown_csv_column_is_refused_naming_the_header(tmp_path, texts):
    path = tmp_path / "in.csv"
    path.write_text(f"id,text\n1,{texts[0]}\n")
    with pytest.raises(InputError, match=r"no column 'body'; the header has 'id', 'text'"):
        read_tickets(path, FieldMap())


def test_a_jsonl_field_no_row_has_is_refused_as_a_mistyped_option(tmp_path, texts):
    path = tmp_path / "in.jsonl"
    path.write_text(f'{{"id": "1", "text": "{texts[0]}"}}\n')
    with pytest.raises(InputError, match=r"no row has the field 'body'"):
        read_tickets(path, FieldMap())


def test_a_file_that_is_not_utf8_is_refused_with_the_line(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes(b"id,body\n1,fine\n2,caf\xe9\n")
    with pytest.raises(InputError, match=r"in.csv:3: not UTF-8"):
        read_tickets(path, FieldMap())


def test_an_unsupported_suffix_is_refused(tmp_path):
    path = tmp_path / "in.xlsx"
    path.write_text("x")
    with pytest.raises(InputError, match=r"use \.csv, \.jsonl or \.parquet"):
        read_tickets(path, FieldMap())

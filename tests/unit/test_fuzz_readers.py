"""Fuzzing the batch readers: any bytes in a .csv or .jsonl file give rows (tickets and row
errors with their line) or one `InputError` naming the file, never another exception."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from assistant.errors import InputError
from assistant.interfaces.batch.readers import read_tickets
from assistant.interfaces.batch.records import FieldMap, RowError, Ticket

# Deterministic (derandomize) and fast: CI runs exactly the same examples every time.
FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

FIELDS = FieldMap(id="id", text="body", subject="subject")

# Characters that matter to the formats, plus the awkward ones (NUL, BOM, U+2028, CR).
SPECIAL = st.sampled_from([*',"\n\r\t\\{}[]:\x00\ufeff\u2028 ', "id", "body", "subject"])
FIELD_TEXT = st.lists(st.one_of(SPECIAL, st.text(max_size=8)), max_size=8).map("".join)

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
# Mostly ticket-shaped objects, so the parsing gets past `json.loads` to the fields.
TICKETS = st.fixed_dictionaries(
    {},
    optional={"id": JSON_VALUES, "body": JSON_VALUES, "subject": JSON_VALUES, "x": JSON_VALUES},
)


@st.composite
def jsonl_lines(draw: st.DrawFn) -> str:
    value = draw(st.one_of(TICKETS, JSON_VALUES))
    line = json.dumps(value, ensure_ascii=draw(st.booleans()))
    mangle = draw(st.sampled_from(["keep", "keep", "cut", "text"]))
    if mangle == "cut":
        return line[: draw(st.integers(0, max(0, len(line) - 1)))]
    if mangle == "text":
        return draw(FIELD_TEXT)
    return line


JSONL_TEXT = st.lists(jsonl_lines(), max_size=8).map("\n".join)


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    header = draw(
        st.one_of(
            st.just(["id", "body"]),
            st.just(["id", "subject", "body"]),
            st.lists(FIELD_TEXT, max_size=4),
        )
    )
    rows = draw(st.lists(st.lists(FIELD_TEXT, max_size=5), max_size=6))
    quote = draw(st.booleans())

    def line(values: list[str]) -> str:
        if quote:
            return ",".join('"' + v.replace('"', '""') + '"' for v in values)
        return ",".join(values)

    return draw(st.sampled_from(["\n", "\r\n"])).join(line(r) for r in [header, *rows])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz-readers")


def read(path: Path, data: bytes) -> list[Ticket | RowError] | InputError:
    """The rows of `data` read as `path`, or the `InputError` it raised (anything else fails)."""
    path.write_bytes(data)
    try:
        return read_tickets(path, FIELDS)
    except InputError as error:
        return error


def check(path: Path, data: bytes, result: list[Ticket | RowError] | InputError) -> None:
    """What any input must give: an error naming the file, or rows that point at real lines."""
    if isinstance(result, InputError):
        assert str(result).startswith(str(path)), result
        return
    # The csv module also ends a line at a lone CR (as old Mac files do).
    lines = len(re.split(rb"\r\n|\r|\n", data))
    for row in result:
        assert 1 <= row.line <= lines, (row, lines)
        if isinstance(row, RowError):
            assert row.error.strip(), row
        else:
            assert row.id.strip() and row.text.strip(), row
            # Whatever came in, what goes on to the model and the output file is real text.
            row.text.encode("utf-8")
            row.id.encode("utf-8")


@FUZZ
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_as_jsonl_give_rows_or_an_input_error(folder: Path, data: bytes) -> None:
    path = folder / "tickets.jsonl"
    check(path, data, read(path, data))


@FUZZ
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_as_csv_give_rows_or_an_input_error(folder: Path, data: bytes) -> None:
    path = folder / "tickets.csv"
    check(path, data, read(path, data))


@FUZZ
@given(text=JSONL_TEXT)
# Found by this test: each of these escaped `json.loads`'s own error and crashed the read.
@example(text='{"id": 1, "body": ' + "1" * 5000 + "}")  # int over Python's digit limit
@example(text='{"id": "1", "body": ' + "[" * 5000 + "}")  # nested past the recursion limit
@example(text='{"id": "1", "body": "\\ud800 lone surrogate"}')  # escaped, not valid Unicode
@example(text='{"id": "\\udfff", "body": "fine"}')
def test_jsonl_lines_of_any_shape_each_become_a_ticket_or_a_row_error(
    folder: Path, text: str
) -> None:
    path = folder / "tickets.jsonl"
    data = text.encode("utf-8", "surrogatepass")
    result = read(path, data)
    check(path, data, result)
    if isinstance(result, list):
        # One row per non-blank line, in order: a bad line never hides or merges others.
        expected = [n for n, raw in enumerate(text.split("\n"), 1) if raw.strip()]
        assert [row.line for row in result] == expected


def test_a_bad_jsonl_line_names_its_line_and_the_rest_is_read(folder: Path) -> None:
    path = folder / "tickets.jsonl"
    lines = [
        '{"id": "a", "body": "My card was stolen"}',
        '{"id": "b", "body": ' + "[" * 5000 + "}",
        '{"id": "c", "body": ' + "9" * 5000 + "}",
        '{"id": "d", "body": "\\ud800"}',
        '{"id": "e", "body": "Where is my refund?"}',
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    rows = read_tickets(path, FieldMap())
    assert [(type(r).__name__, r.line) for r in rows] == [
        ("Ticket", 1),
        ("RowError", 2),
        ("RowError", 3),
        ("RowError", 4),
        ("Ticket", 5),
    ]
    errors = [r for r in rows if isinstance(r, RowError)]
    assert "nested too deeply" in errors[0].error
    assert "invalid JSON" in errors[1].error
    assert "not valid Unicode" in errors[2].error


@FUZZ
@given(text=csv_texts())
def test_csv_rows_of_any_shape_each_become_a_ticket_or_a_row_error(folder: Path, text: str) -> None:
    path = folder / "tickets.csv"
    data = text.encode("utf-8")
    check(path, data, read(path, data))

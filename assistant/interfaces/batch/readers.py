"""Tickets from a CSV, JSONL or Parquet file (chosen by suffix), each good row a ``Ticket``
and each bad row a ``RowError`` with its line number (for Parquet, its row number).

A bad row never stops the read: it becomes an error record in the output. What makes the
whole file unusable (not UTF-8, a mapped column that does not exist, duplicate ids, which
would make resuming by id ambiguous) raises ``InputError`` before any model call.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

from assistant.errors import InputError
from assistant.interfaces.batch.records import FieldMap, RowError, Ticket

Format = Literal["csv", "jsonl", "parquet"]
Row = Ticket | RowError

_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
# Enough duplicates to find the problem; a file with thousands needs a different fix anyway.
_DUPLICATES_SHOWN = 5


def file_format(path: Path) -> Format:
    """``csv``, ``jsonl`` or ``parquet`` from the file's suffix; ``InputError`` for any other."""
    found = _SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise InputError(
            f"{path}: unsupported suffix {path.suffix!r}; use .csv, .jsonl or .parquet"
        )
    return found


def output_format(path: Path) -> Format:
    """The format of an output file: ``csv`` or ``jsonl`` (records are appended line by line,
    which Parquet cannot do); ``InputError`` for any other suffix."""
    found = file_format(path)
    if found == "parquet":
        raise InputError(f"{path}: results are written as .csv or .jsonl, not Parquet")
    return found


def read_tickets(path: Path, fields: FieldMap) -> list[Row]:
    """Every row of ``path`` in file order (blank lines skipped).

    Raises ``InputError`` when the file cannot be read as a whole: missing, not UTF-8, a
    mapped column absent from the CSV header or from every JSONL row, or duplicate ids.
    """
    found = file_format(path)
    if found == "parquet":
        rows = list(_parquet_rows(path, fields))
    elif found == "csv":
        rows = list(_csv_rows(path, _read_text(path), fields))
    else:
        rows = list(_jsonl_rows(path, _read_text(path), fields))
    _refuse_duplicates(path, rows)
    return rows


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        # utf-8-sig: spreadsheet exports often start with a byte-order mark.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text ({exc.reason})") from None


def _compose(fields: FieldMap, row: Mapping[str, object], line: int) -> Row:
    """A ticket from one row's values, or the reason it is not one."""
    raw_id = row.get(fields.id)
    ticket_id = "" if raw_id is None else str(raw_id).strip()
    if not ticket_id:
        return RowError(line=line, error=f"no {fields.id!r} (ticket id) in the row")
    body = row.get(fields.text)
    if body is not None and not isinstance(body, str):
        return RowError(line=line, id=ticket_id, error=f"{fields.text!r} is not text")
    subject = row.get(fields.subject) if fields.subject else None
    if subject is not None and not isinstance(subject, str):
        return RowError(line=line, id=ticket_id, error=f"{fields.subject!r} is not text")
    parts = [p.strip() for p in (subject, body) if p and p.strip()]
    if not parts:
        return RowError(line=line, id=ticket_id, error=f"empty {fields.text!r} (ticket text)")
    return Ticket(id=ticket_id, text="\n\n".join(parts), line=line)


def _csv_rows(path: Path, text: str, fields: FieldMap) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        # An unterminated quote in the header: the whole file is one broken header field.
        raise InputError(f"{path}:1: malformed CSV header: {exc}") from None
    if header is None:
        return
    header = [name.strip() for name in header]
    wanted = [f for f in (fields.id, fields.text, fields.subject) if f]
    if missing := [f for f in wanted if f not in header]:
        raise InputError(
            f"{path}: no column {', '.join(map(repr, missing))}; the header has "
            f"{', '.join(map(repr, header))} (map them with --id-field, --text-field, "
            "--subject-field)"
        )
    # A record may span lines (a quoted newline): it starts after the previous one ended.
    start = reader.line_num + 1
    try:
        for values in reader:
            line, start = start, reader.line_num + 1
            if not values:
                continue
            if len(values) != len(header):
                at = header.index(fields.id)
                row_id = values[at] if at < len(values) else None
                yield RowError(
                    line=line,
                    id=(row_id or "").strip() or None,
                    error=f"malformed row: {len(values)} fields, the header has {len(header)}",
                )
                continue
            yield _compose(fields, dict(zip(header, values, strict=True)), line)
    except csv.Error as exc:
        # Only an unterminated quote at the end of the file gets here (strict mode); the
        # rows before it were yielded, the rest of the file is one broken field.
        yield RowError(line=start, error=f"malformed CSV: {exc}")


def _jsonl_rows(path: Path, text: str, fields: FieldMap) -> Iterator[Row]:
    seen: set[str] = set()
    rows: list[Row] = []
    # Split on newlines only: str.splitlines would also split at U+2028 inside a JSON string.
    for number, raw in enumerate(text.split("\n"), 1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            rows.append(RowError(line=number, error=f"invalid JSON: {exc.msg}"))
            continue
        except ValueError as exc:  # an integer past Python's digit limit
            rows.append(RowError(line=number, error=f"invalid JSON: {exc}"))
            continue
        except RecursionError:
            rows.append(RowError(line=number, error="invalid JSON: nested too deeply"))
            continue
        if not isinstance(value, dict):
            rows.append(RowError(line=number, error="not a JSON object"))
            continue
        if not _is_unicode(value):
            rows.append(RowError(line=number, error="not valid Unicode: an unpaired surrogate"))
            continue
        seen.update(value)
        rows.append(_compose(fields, value, number))
    wanted = [f for f in (fields.id, fields.text, fields.subject) if f]
    # A field no row has is a mistyped option, not a thousand bad rows.
    if seen and (missing := [f for f in wanted if f not in seen]):
        raise InputError(
            f"{path}: no row has the field {', '.join(map(repr, missing))}; the rows have "
            f"{', '.join(map(repr, sorted(seen)))} (map them with --id-field, --text-field, "
            "--subject-field)"
        )
    yield from rows


def _parquet_rows(path: Path, fields: FieldMap) -> Iterator[Row]:
    """Each row of a Parquet file; its ``line`` is the row number, from 1."""
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise InputError(
            f"{path}: reading Parquet needs pyarrow: pip install 'hybrid-assistant[ray]'"
        ) from None
    try:
        table = parquet.read_table(path)
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        raise InputError(f"cannot read {path} as Parquet: {exc}") from None
    wanted = [f for f in (fields.id, fields.text, fields.subject) if f]
    if missing := [f for f in wanted if f not in table.column_names]:
        raise InputError(
            f"{path}: no column {', '.join(map(repr, missing))}; the file has "
            f"{', '.join(map(repr, table.column_names))} (map them with --id-field, "
            "--text-field, --subject-field)"
        )
    for number, row in enumerate(table.select(wanted).to_pylist(), 1):
        yield _compose(fields, row, number)


def _is_unicode(value: object) -> bool:
    """False when a string in `value` holds an unpaired surrogate: `json.loads` accepts the
    escape `\\ud800`, but such a string is not text (it cannot be written out as UTF-8)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _refuse_duplicates(path: Path, rows: list[Row]) -> None:
    first: dict[str, int] = {}
    duplicates: list[str] = []
    for row in rows:
        if row.id is None:
            continue
        if row.id in first:
            duplicates.append(f"{row.id!r} (lines {first[row.id]} and {row.line})")
        else:
            first[row.id] = row.line
    if duplicates:
        shown = ", ".join(duplicates[:_DUPLICATES_SHOWN])
        more = len(duplicates) - _DUPLICATES_SHOWN
        raise InputError(
            f"{path}: duplicate ticket ids {shown}{f' and {more} more' if more > 0 else ''}; "
            "ids must be unique to resume a run"
        )

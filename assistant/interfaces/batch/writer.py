"""The output file: one record per ticket, appended whole, recoverable after a kill.

Each record is encoded as one complete line (a CSV row may span lines when a field holds a
newline) and written with a single ``os.write``, then ``fsync``: a record either is on disk
whole or, if the process died inside that write, is a torn tail. Reopening an output cuts a
torn tail off before appending, and returns the records already done so the run skips them.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Self

from pydantic import ValidationError

from assistant.closing import Closing
from assistant.errors import InputError
from assistant.interfaces.batch.readers import output_format
from assistant.interfaces.batch.records import CSV_COLUMNS, TicketRecord


class RecordWriter(Closing):
    """Appends records to a JSONL or CSV output; open with ``RecordWriter.open``."""

    def __init__(self, path: Path, fd: int, *, csv_output: bool) -> None:
        self.path = path
        self._fd = fd
        self._csv = csv_output

    @classmethod
    def open(cls, path: Path) -> tuple[Self, list[TicketRecord]]:
        """The writer for ``path`` and the records it already holds (empty for a new file).

        A torn last record (a kill mid-write) is truncated away. Raises ``InputError`` when
        the file holds something other than this command's records: appending to it would
        mix two formats, and resuming from it would skip the wrong tickets.
        """
        csv_output = output_format(path) == "csv"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise InputError(f"cannot open {path}: {exc.strerror or exc}") from None
        try:
            data = _read_all(fd)
            keep, done = _recover_csv(path, data) if csv_output else _recover_jsonl(path, data)
            if keep < len(data):
                os.ftruncate(fd, keep)
                os.fsync(fd)
            writer = cls(path, fd, csv_output=csv_output)
            if csv_output and keep == 0:
                writer._append(_csv_line(list(CSV_COLUMNS)))
        except BaseException:
            os.close(fd)
            raise
        return writer, done

    def write(self, record: TicketRecord) -> None:
        """Append ``record`` durably: it is on disk whole when this returns."""
        if self._csv:
            line = _csv_line(_csv_values(record))
        else:
            line = record.model_dump_json(exclude_none=True) + "\n"
        self._append(line)

    def _append(self, line: str) -> None:
        data = line.encode("utf-8")
        # One write call for the whole record; a short write (disk full, a signal) is
        # finished here, and a kill before it finishes leaves a tail `open` truncates.
        written = os.write(self._fd, data)
        while written < len(data):
            written += os.write(self._fd, data[written:])
        os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def drop_records(path: Path, drop: Callable[[TicketRecord], bool]) -> int:
    """Remove the records ``drop`` selects from the output at ``path``; returns how many.

    The kept records go to a temporary file that then replaces ``path`` in one rename, so a
    kill at any point leaves either the old file or the new one, never a mix.
    """
    writer, records = RecordWriter.open(path)
    writer.close()
    kept = [record for record in records if not drop(record)]
    if len(kept) == len(records):
        return 0
    temporary = path.with_name(f".{path.name}.rewrite{path.suffix}")
    temporary.unlink(missing_ok=True)
    rewriter, _ = RecordWriter.open(temporary)
    with rewriter:
        for record in kept:
            rewriter.write(record)
    os.replace(temporary, path)
    return len(records) - len(kept)


def replace_with_records(path: Path, records: Iterable[TicketRecord]) -> int:
    """Write ``records`` as the whole of ``path`` (JSONL or CSV by suffix); returns how many.

    They go to a temporary file, synced once, that then replaces ``path`` in one rename: a
    reader sees the old file or the new one. For writing a finished output in one go, where
    ``RecordWriter``'s sync per record would cost a disk flush per ticket.
    """
    csv_output = output_format(path) == "csv"
    temporary = path.with_name(f".{path.name}.replace{path.suffix}")
    count = 0
    try:
        with temporary.open("w", encoding="utf-8", newline="") as file:
            if csv_output:
                file.write(_csv_line(list(CSV_COLUMNS)))
            for record in records:
                if csv_output:
                    file.write(_csv_line(_csv_values(record)))
                else:
                    file.write(record.model_dump_json(exclude_none=True) + "\n")
                count += 1
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return count


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _not_ours(path: Path, line: int, why: str) -> InputError:
    return InputError(
        f"{path}:{line}: not a triage-batch output ({why}); choose another -o file "
        "or remove this one"
    )


def _recover_jsonl(path: Path, data: bytes) -> tuple[int, list[TicketRecord]]:
    """Bytes to keep (everything up to the last newline) and the records in them."""
    keep = data.rfind(b"\n") + 1
    done = []
    for number, raw in enumerate(data[:keep].split(b"\n")[:-1], 1):
        try:
            done.append(TicketRecord.model_validate_json(raw))
        except ValidationError as exc:
            raise _not_ours(path, number, exc.errors()[0]["msg"]) from None
    return keep, done


def _recover_csv(path: Path, data: bytes) -> tuple[int, list[TicketRecord]]:
    """Bytes to keep and the records in them.

    A CSV record can contain newlines inside quotes, so "up to the last newline" is not
    enough: back off newline by newline until the prefix parses as whole records. A prefix
    cut inside a quoted field ends in an open quote, which strict parsing rejects.
    """
    keep = data.rfind(b"\n") + 1
    while keep > 0:
        try:
            rows = list(
                csv.reader(io.StringIO(data[:keep].decode("utf-8"), newline=""), strict=True)
            )
        except (csv.Error, UnicodeDecodeError):
            keep = data.rfind(b"\n", 0, keep - 1) + 1
            continue
        if rows[0] != list(CSV_COLUMNS):
            raise _not_ours(path, 1, f"the header is not {','.join(CSV_COLUMNS)}")
        return keep, [_csv_record(path, n, row) for n, row in enumerate(rows[1:], 2)]
    return 0, []


def _csv_line(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _csv_values(record: TicketRecord) -> list[str]:
    data = record.model_dump(mode="json")
    values = []
    for column in CSV_COLUMNS:
        value = data[column]
        if value is None:
            values.append("")
        elif isinstance(value, bool):
            values.append("true" if value else "false")
        elif isinstance(value, list):
            # Citations are nested objects: one JSON cell keeps them in one column.
            values.append(json.dumps(value, ensure_ascii=False))
        else:
            values.append(str(value))
    return values


def _csv_record(path: Path, row_number: int, row: list[str]) -> TicketRecord:
    if len(row) != len(CSV_COLUMNS):
        raise _not_ours(path, row_number, f"{len(row)} fields, expected {len(CSV_COLUMNS)}")
    cells = dict(zip(CSV_COLUMNS, row, strict=True))
    data: dict[str, object] = {k: v for k, v in cells.items() if v != ""}
    if "needs_human" in data:
        data["needs_human"] = data["needs_human"] == "true"
    try:
        if "citations" in data:
            data["citations"] = json.loads(str(data["citations"]))
        return TicketRecord.model_validate(data)
    except (ValidationError, json.JSONDecodeError) as exc:
        raise _not_ours(path, row_number, str(exc).splitlines()[0]) from None

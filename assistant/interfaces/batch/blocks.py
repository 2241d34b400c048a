"""The input cut into fixed row ranges (blocks), and the folder of one part file per block.

A block is rows ``[start, stop)`` of the input in file order, ``block_rows`` rows each: the
same input and block size give the same blocks on every run, so a part file named from its
range (``part-000000256-000000512.jsonl``) is that block's result whichever worker made it.
A part is written to a temporary name and renamed, so it is whole or absent; a rerun skips
the blocks whose part exists. ``job.json`` in the folder records the input's hash and the
block size: parts of another input, or cut another way, are refused rather than mixed in.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from assistant.errors import InputError
from assistant.interfaces.batch.records import RowError, Ticket, TicketRecord

JOB_FILE = "job.json"
_PART_PREFIX = "part-"


class BlockTask(BaseModel):
    """One block as a worker receives it: its range and its rows (bad rows included)."""

    start: int = Field(ge=0)
    stop: int = Field(gt=0)
    rows: list[Ticket | RowError]


class BlockResult(BaseModel):
    """What a worker returns for a block: one record per row, in row order."""

    start: int = Field(ge=0)
    stop: int = Field(gt=0)
    records: list[TicketRecord]


class PartsJob(BaseModel):
    """What the parts in a folder were cut from."""

    source_sha256: str
    block_rows: int = Field(ge=1)
    rows: int = Field(ge=0)


def split_blocks(rows: Sequence[Ticket | RowError], block_rows: int) -> list[BlockTask]:
    """``rows`` cut into consecutive blocks of ``block_rows`` (the last may be shorter)."""
    return [
        BlockTask(
            start=start,
            stop=min(start + block_rows, len(rows)),
            rows=list(rows[start:][:block_rows]),
        )
        for start in range(0, len(rows), block_rows)
    ]


def parts_folder_for(output: Path) -> Path:
    """Where the parts of ``output`` live: ``OUT.parts/`` beside it."""
    return output.with_name(output.name + ".parts")


class PartStore:
    """The part files of one run's output; open with ``PartStore.open``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def open(cls, folder: Path, job: PartsJob) -> PartStore:
        """The store in ``folder``, created for ``job`` or checked against it.

        Raises ``InputError`` when the folder holds parts of another input or block size.
        """
        job_file = folder / JOB_FILE
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if job_file.exists():
                found = PartsJob.model_validate_json(job_file.read_text(encoding="utf-8"))
                if found != job:
                    raise InputError(
                        f"{folder}: holds parts of another input or block size "
                        f"({found.rows} rows in blocks of {found.block_rows}; this run: "
                        f"{job.rows} rows in blocks of {job.block_rows}); remove it or "
                        "choose another -o"
                    )
            else:
                _write_atomically(job_file, job.model_dump_json() + "\n")
        except OSError as exc:
            raise InputError(f"cannot use {folder}: {exc.strerror or exc}") from None
        except ValidationError:
            raise InputError(f"{job_file}: not a triage-batch parts record") from None
        return cls(folder)

    def part_path(self, start: int, stop: int) -> Path:
        return self.folder / f"{_PART_PREFIX}{start:09d}-{stop:09d}.jsonl"

    def done(self, block: BlockTask) -> bool:
        return self.part_path(block.start, block.stop).exists()

    def write(self, result: BlockResult) -> None:
        """Write ``result``'s part whole (temporary file, fsync, rename)."""
        lines = "".join(r.model_dump_json(exclude_none=True) + "\n" for r in result.records)
        _write_atomically(self.part_path(result.start, result.stop), lines)

    def read(self, block: BlockTask) -> list[TicketRecord]:
        path = self.part_path(block.start, block.stop)
        try:
            return [
                TicketRecord.model_validate_json(line)
                for line in path.read_text(encoding="utf-8").splitlines()
            ]
        except ValidationError as exc:
            raise InputError(
                f"{path}: not a triage-batch part ({exc.errors()[0]['msg']})"
            ) from None

    def remove(self, block: BlockTask) -> None:
        self.part_path(block.start, block.stop).unlink(missing_ok=True)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)

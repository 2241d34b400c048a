"""The blocks of `triage-batch --ray`: fixed row ranges, part files written whole, a folder
that refuses parts of another input; and Parquet input, which Ray users bring."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assistant.errors import InputError
from assistant.interfaces.batch.blocks import (
    BlockResult,
    BlockTask,
    PartsJob,
    PartStore,
    split_blocks,
)
from assistant.interfaces.batch.readers import output_format, read_tickets
from assistant.interfaces.batch.records import FieldMap, RowError, Ticket, TicketRecord
from assistant.interfaces.batch.writer import RecordWriter


def rows(n: int) -> list[Ticket | RowError]:
    return [Ticket(id=f"t{i}", text=f"text {i}", line=i + 1) for i in range(n)]


def test_blocks_are_fixed_row_ranges_covering_every_row_once() -> None:
    blocks = split_blocks(rows(10), 4)
    assert [(b.start, b.stop) for b in blocks] == [(0, 4), (4, 8), (8, 10)]
    assert [row for b in blocks for row in b.rows] == rows(10)
    assert split_blocks(rows(10), 4) == blocks  # the same input cuts the same way


def test_a_part_is_written_whole_and_read_back_and_marks_its_block_done(tmp_path: Path) -> None:
    job = PartsJob(source_sha256="a" * 64, block_rows=4, rows=10)
    store = PartStore.open(tmp_path / "out.jsonl.parts", job)
    block = split_blocks(rows(10), 4)[1]
    assert not store.done(block)
    records = [TicketRecord(id=r.id, line=r.line, category="card_arrival") for r in block.rows]
    store.write(BlockResult(start=block.start, stop=block.stop, records=records))
    assert store.done(block)
    assert store.read(block) == records
    assert sorted(p.name for p in store.folder.iterdir()) == [
        "job.json",
        "part-000000004-000000008.jsonl",
    ]  # no temporary file left behind


def test_parts_of_another_input_or_block_size_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "out.jsonl.parts"
    PartStore.open(folder, PartsJob(source_sha256="a" * 64, block_rows=4, rows=10))
    PartStore.open(folder, PartsJob(source_sha256="a" * 64, block_rows=4, rows=10))  # same: ok
    with pytest.raises(InputError, match="parts of another input or block size"):
        PartStore.open(folder, PartsJob(source_sha256="b" * 64, block_rows=4, rows=10))
    with pytest.raises(InputError, match="parts of another input or block size"):
        PartStore.open(folder, PartsJob(source_sha256="a" * 64, block_rows=8, rows=10))


def test_parquet_rows_are_tickets_numbered_by_row_with_bad_rows_recorded(tmp_path: Path) -> None:
    path = tmp_path / "tickets.parquet"
    table = pa.table({"id": [7, 8, None], "body": ["card late", "", "no id"], "x": [1, 2, 3]})
    pq.write_table(table, path)
    found = read_tickets(path, FieldMap())
    assert found[0] == Ticket(id="7", text="card late", line=1)
    assert isinstance(found[1], RowError) and found[1].id == "8" and found[1].line == 2
    assert isinstance(found[2], RowError) and found[2].line == 3
    with pytest.raises(InputError, match="no column 'text'"):
        read_tickets(path, FieldMap(text="text"))


def test_results_are_not_written_as_parquet(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"\.csv or \.jsonl, not Parquet"):
        output_format(tmp_path / "out.parquet")


def test_retry_errors_forgets_the_blocks_with_a_failed_ticket_but_not_a_bad_row(
    tmp_path: Path,
) -> None:
    from assistant.interfaces.batch.ray_runner import forget_failed_blocks

    rows_in: list[Ticket | RowError] = [
        Ticket(id="a", text="x", line=1),
        RowError(line=2, error="invalid JSON"),
        Ticket(id="b", text="y", line=3),
        Ticket(id="c", text="z", line=4),
    ]
    blocks = split_blocks(rows_in, 2)
    store = PartStore.open(
        tmp_path / "parts", PartsJob(source_sha256="a" * 64, block_rows=2, rows=4)
    )
    store.write(
        BlockResult(
            start=0,
            stop=2,
            records=[
                TicketRecord(id="a", line=1, category="card_arrival"),
                TicketRecord(line=2, error="invalid JSON"),
            ],
        )
    )
    store.write(
        BlockResult(
            start=2,
            stop=4,
            records=[
                TicketRecord(id="b", line=3, error="ModelUnavailableError: server down"),
                TicketRecord(id="c", line=4, category="card_arrival"),
            ],
        )
    )
    forget_failed_blocks(store, blocks)
    assert store.done(blocks[0])  # its only error is a bad row: redoing it changes nothing
    assert not store.done(blocks[1])


def test_a_workers_own_error_comes_back_as_its_one_line_message() -> None:
    from assistant.interfaces.batch.ray_runner import worker_error

    report = RuntimeError(
        "Traceback (most recent call last):\n  File ...\n"
        "assistant.errors.InputError: /x holds no usable triage classifier\n\n"
        "ray.exceptions.ActorDiedError: The actor died because of an error"
    )
    assert worker_error(report) == "/x holds no usable triage classifier"
    assert worker_error(RuntimeError("lost\nnode died")) == "RuntimeError: node died"


def test_a_ray_run_stopped_by_ctrl_c_keeps_its_parts_reports_and_leaves_out_to_the_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextlib import nullcontext

    from assistant.interfaces.batch import ray_runner
    from assistant.settings import Settings

    def triaged(block: BlockTask) -> BlockResult:
        records = [TicketRecord(id=r.id, line=r.line, error="x") for r in block.rows]
        return BlockResult(start=block.start, stop=block.stop, records=records)

    def one_block_then_ctrl_c(blocks: list[BlockTask], settings: Settings) -> Iterator[BlockResult]:
        yield triaged(blocks[0])
        raise KeyboardInterrupt

    monkeypatch.setattr(ray_runner, "ray_session", lambda address: nullcontext())
    monkeypatch.setattr(ray_runner, "triage_blocks", one_block_then_ctrl_c)
    source = tmp_path / "t.jsonl"
    source.write_text("".join(f'{{"id": "t{i}", "body": "text {i}"}}\n' for i in range(10)))
    out = tmp_path / "out.jsonl"
    settings = Settings(_env_file=None, batch_block_rows=4)  # type: ignore[call-arg]
    summary = ray_runner.triage_file_on_ray(source, out, FieldMap(), settings)
    assert summary.interrupted and (summary.processed, summary.not_done) == (4, 6)
    assert not out.exists()  # joined by the run that finishes
    assert [p.name for p in sorted((tmp_path / "out.jsonl.parts").glob("part-*"))] == [
        "part-000000000-000000004.jsonl"
    ]

    monkeypatch.setattr(ray_runner, "triage_blocks", lambda blocks, settings: map(triaged, blocks))
    summary = ray_runner.triage_file_on_ray(source, out, FieldMap(), settings)
    assert not summary.interrupted and (summary.resumed, summary.processed) == (4, 6)
    assert [r.id for r in RecordWriter.open(out)[1]] == [f"t{i}" for i in range(10)]

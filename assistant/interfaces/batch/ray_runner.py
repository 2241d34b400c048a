"""``triage-batch --ray``: the blocks of the input triaged by Ray Data workers, resumably.

The driver (this process) reads and checks the input exactly as the single-process path does
(the same bad-row records, the same refusals), cuts it into blocks (``blocks``), and hands
the blocks not yet done to Ray Data as a dataset of one row per block. ``map_batches`` runs
``BlockTriager`` actors over it, ``concurrency`` of them; each finished block comes back to
the driver, which writes its part file. When every block has a part, the parts are joined
in input order into OUT. A kill loses only the blocks in flight; the rerun skips the rest.
A Ctrl-C stops the run the same way, with a summary, and leaves OUT to the rerun.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console

from assistant.errors import InputError
from assistant.interfaces.batch.blocks import (
    BlockResult,
    BlockTask,
    PartsJob,
    PartStore,
    parts_folder_for,
    split_blocks,
)
from assistant.interfaces.batch.progress import batch_progress
from assistant.interfaces.batch.ray_cluster import check_reachable, ray_session
from assistant.interfaces.batch.ray_worker import RESULT_COLUMN, TASK_COLUMN, BlockTriager
from assistant.interfaces.batch.readers import output_format, read_tickets
from assistant.interfaces.batch.records import FieldMap, RowError, TicketRecord
from assistant.interfaces.batch.summary import BatchSummary
from assistant.interfaces.batch.writer import replace_with_records
from assistant.llm.manifest import sha256_file
from assistant.settings import Settings


def triage_file_on_ray(
    source: Path,
    output: Path,
    fields: FieldMap,
    settings: Settings,
    *,
    address: str | None = None,
    console: Console | None = None,
    retry_errors: bool = False,
) -> BatchSummary:
    """Triage ``source`` into ``output`` on Ray, ``settings.ray_workers`` workers, resuming
    from the parts in ``OUT.parts/``.

    ``address`` is the cluster to join (None: Ray on this machine). Blocks are
    ``settings.batch_block_rows`` rows. Raises ``InputError`` for an unusable input, an
    unreachable cluster, or an output this mode did not write.
    """
    if source.resolve() == output.resolve():
        raise InputError(f"{output}: the output must not be the input file")
    output_format(output)
    rows = read_tickets(source, fields)
    folder = parts_folder_for(output)
    if output.exists() and not folder.is_dir():
        raise InputError(
            f"{output} exists but has no {folder.name}/ beside it (it was not written by "
            "--ray); choose another -o, or resume it without --ray"
        )
    if address is not None:
        check_reachable(address, settings.ray_connect_timeout_s)  # before any file is made
    blocks = split_blocks(rows, settings.batch_block_rows)
    job = PartsJob(
        source_sha256=sha256_file(source), block_rows=settings.batch_block_rows, rows=len(rows)
    )
    store = PartStore.open(folder, job)
    if retry_errors:
        forget_failed_blocks(store, blocks)
    # Each block's records, from its part (written before) or its worker (now), so the parts
    # are read once and OUT is joined from memory.
    earlier = {block.start: store.read(block) for block in blocks if store.done(block)}
    todo = [block for block in blocks if block.start not in earlier]
    new: dict[int, list[TicketRecord]] = {}
    started = time.perf_counter()
    interrupted = False
    if todo:
        with ExitStack() as stack:
            stack.enter_context(ray_session(address))
            progress = stack.enter_context(batch_progress(console)) if console else None
            total = sum(len(block.rows) for block in todo)
            task = progress.add_task("", total=total, errors=0) if progress else None
            errors = 0
            try:
                for result in triage_blocks(todo, settings):
                    store.write(result)
                    new[result.start] = result.records
                    errors += sum(record.error is not None for record in result.records)
                    if progress is not None and task is not None:
                        progress.update(task, advance=len(result.records), errors=errors)
            except KeyboardInterrupt:
                # Ctrl-C: the parts written stay (each is whole); OUT is joined by the rerun
                # that finishes the other blocks.
                interrupted = True
    seconds = time.perf_counter() - started
    by_block = earlier | new
    if not interrupted:
        replace_with_records(output, (record for b in blocks for record in by_block[b.start]))
    return BatchSummary.of(
        (r for records in earlier.values() for r in records),
        (r for records in new.values() for r in records),
        seconds,
        interrupted=interrupted,
        not_done=sum(len(b.rows) for b in blocks if b.start not in by_block),
    )


def triage_blocks(blocks: Sequence[BlockTask], settings: Settings) -> Iterator[BlockResult]:
    """Each block's result as its worker finishes it (any order), on the connected Ray."""
    import ray

    context = ray.data.DataContext.get_current()
    # The command draws its own bar over tickets and prints its own summary.
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    dataset = ray.data.from_items(
        [{TASK_COLUMN: block.model_dump_json()} for block in blocks],
        # One Ray block per input block, so the workers share them out one by one.
        override_num_blocks=len(blocks),
    )
    triaged = dataset.map_batches(
        BlockTriager,
        fn_constructor_args=(settings,),
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=settings.ray_workers),
        num_cpus=settings.ray_worker_cpus,
    )
    try:
        for row in triaged.iter_rows():
            yield BlockResult.model_validate_json(row[RESULT_COLUMN])
    except ray.exceptions.RayError as error:
        raise InputError(f"a Ray worker failed: {worker_error(error)}") from None


# Ray hands back a worker's exception as text inside its own (an ActorDiedError when the
# engine did not load); our errors keep their one-line message there.
_OUR_ERROR = re.compile(r"^assistant\.(?:\w+\.)*\w+Error: (?P<message>.+)$", re.MULTILINE)


def worker_error(error: BaseException) -> str:
    """What went wrong in the worker, in one line: our own error's message when it was one
    (a missing classifier, a policy mismatch), else the last line of Ray's report."""
    text = str(error)
    ours = _OUR_ERROR.findall(text)
    if ours:
        return str(ours[-1])
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1] if lines else ''}"


def forget_failed_blocks(store: PartStore, blocks: Sequence[BlockTask]) -> None:
    """Remove the parts holding a ticket that ended in an error, so those blocks run again
    (bad rows are not a reason: they would fail the same way)."""
    for block in blocks:
        if not store.done(block):
            continue
        bad_rows = {row.key for row in block.rows if isinstance(row, RowError)}
        if any(r.error is not None and r.key not in bad_rows for r in store.read(block)):
            store.remove(block)

"""The Ray Data worker of ``triage-batch --ray``: triages whole blocks.

``BlockTriager`` is a callable class, so Ray Data runs it as actors: each loads the engine
once in ``__init__`` (the classifier and its embedder, or the chat model's client) and then
triages block after block. Each ticket goes through the same ``TicketProcessor`` as the
single-process path, so a failure is recorded on its own row in the same words.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from assistant.interfaces.batch.blocks import BlockResult, BlockTask
from assistant.interfaces.batch.records import RowError, Ticket, TicketRecord
from assistant.settings import Settings

# The one column of the dataset in and out: a block (or its result) as pydantic JSON, so the
# typed models cross the process boundary whole instead of as loose columns.
TASK_COLUMN = "task"
RESULT_COLUMN = "result"


class BlockTriager:
    """Called by Ray Data with batches of one block each; returns each block's records."""

    def __init__(self, settings: Settings) -> None:
        import torch

        from assistant.interfaces.batch.runner import concurrency_for
        from assistant.llm.gateway import build_chat_model
        from assistant.triage.engines import build_block_triage

        # Ray reserves `ray_worker_cpus` for this actor; torch would otherwise start a thread
        # per core of the node and the workers of one node would fight over them.
        torch.set_num_threads(settings.torch_threads or max(1, round(settings.ray_worker_cpus)))
        self._prepare = build_block_triage(settings, build_chat_model(settings))
        self._in_flight = concurrency_for(settings)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = [
            self.triage(BlockTask.model_validate_json(task)).model_dump_json()
            for task in batch[TASK_COLUMN]
        ]
        return {RESULT_COLUMN: np.array(results, dtype=object)}

    def triage(self, task: BlockTask) -> BlockResult:
        """One record per row of ``task``, in row order; never raises for one ticket."""
        from assistant.interfaces.batch.runner import TicketProcessor

        tickets = [row for row in task.rows if isinstance(row, Ticket)]
        process = TicketProcessor(triage=self._prepare([ticket.text for ticket in tickets]))
        with ThreadPoolExecutor(self._in_flight, thread_name_prefix="triage") as pool:
            done = iter(pool.map(process, tickets))
        records: list[TicketRecord] = [
            TicketRecord.from_row_error(row) if isinstance(row, RowError) else next(done)
            for row in task.rows
        ]
        return BlockResult(start=task.start, stop=task.stop, records=records)

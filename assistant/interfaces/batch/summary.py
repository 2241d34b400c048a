"""What a batch run produced: counts over the whole output and this run's throughput."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from pydantic import BaseModel, Field
from rich.table import Table

from assistant.interfaces.batch.progress import format_rate
from assistant.interfaces.batch.records import TicketRecord
from assistant.policy import PRIORITIES


class BatchSummary(BaseModel):
    """Counts over every record in the output (earlier runs included); rates over this run."""

    records: int = Field(0, description="Records in the output file.")
    resumed: int = Field(0, description="Records already there when this run started.")
    processed: int = Field(0, description="Records this run wrote.")
    categories: dict[str, int] = Field(default_factory=dict)
    priorities: dict[str, int] = Field(default_factory=dict)
    needs_human: int = 0
    errors: int = 0
    seconds: float = Field(0.0, ge=0.0, description="Wall time of this run's processing.")
    interrupted: bool = Field(False, description="The run was stopped (Ctrl-C) before the end.")
    not_done: int = Field(0, description="Tickets of the input with no record yet.")

    @property
    def throughput(self) -> float:
        """Records per second written by this run."""
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    @classmethod
    def of(
        cls,
        earlier: Iterable[TicketRecord],
        new: Iterable[TicketRecord],
        seconds: float,
        *,
        interrupted: bool = False,
        not_done: int = 0,
    ) -> BatchSummary:
        old, fresh = list(earlier), list(new)
        everything = old + fresh
        triaged = [r for r in everything if r.error is None]
        return cls(
            records=len(everything),
            resumed=len(old),
            processed=len(fresh),
            categories=dict(Counter(r.category for r in triaged if r.category).most_common()),
            priorities=dict(Counter(r.priority for r in triaged if r.priority)),
            needs_human=sum(bool(r.needs_human) for r in triaged),
            errors=len(everything) - len(triaged),
            seconds=seconds,
            interrupted=interrupted,
            not_done=not_done,
        )

    def tables(self) -> list[Table]:
        """The summary as rich tables: totals, then priorities, then categories."""
        totals = Table(
            "records", "resumed", "this run", "needs human", "errors", "rate",
            title="triage-batch",
        )  # fmt: skip
        totals.add_row(
            str(self.records),
            str(self.resumed),
            str(self.processed),
            str(self.needs_human),
            str(self.errors),
            format_rate(self.throughput) if self.processed else "--",
            style="bold red" if self.errors else None,
        )
        priorities = Table("priority", "tickets")
        for priority in PRIORITIES:
            priorities.add_row(priority, str(self.priorities.get(priority, 0)))
        categories = Table("category", "tickets")
        for category, count in self.categories.items():
            categories.add_row(category, str(count))
        return [totals, priorities, categories]

"""What a queue page shows: a queue's open work narrowed (priority, state, claimed or not,
breached) and ordered (most urgent first, or by age), each from the ledger's indexed columns."""

from __future__ import annotations

from enum import StrEnum

from pydantic import field_validator

from domain.core import Model, Priority
from domain.lifecycles import OPEN_WORK

UNCLAIMED = "-"  # the `assignee` that asks for unclaimed work


class QueueSort(StrEnum):
    URGENCY = "urgency"  # priority, then the nearest deadline (claim-next's order)
    OLDEST = "oldest"
    NEWEST = "newest"


class QueueView(Model):
    priority: Priority | None = None
    state: str | None = None  # one of the open-work states
    assignee: str | None = None  # a person's id, or UNCLAIMED
    breached: bool = False
    sort: QueueSort = QueueSort.URGENCY

    @field_validator("state")
    @classmethod
    def _open(cls, state: str | None) -> str | None:
        if state is not None and state not in OPEN_WORK:
            raise ValueError(f"not a state of open work: {sorted(OPEN_WORK)}")
        return state

    @property
    def narrowed(self) -> bool:
        return self != QueueView()

    def states(self, states: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(s for s in states if self.state in (None, s))

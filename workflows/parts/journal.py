"""A record's timeline, and how a change to it becomes visible."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from config import search_attributes
    from domain.core import TimelineEvent
    from domain.record import LedgerRecord
    from workflows.parts.options import LOCAL


class Record(Protocol):
    """What the shared workflow parts need of a lifecycle's state."""

    case_uid: str
    state: str
    timeline: list[TimelineEvent]
    revision: int
    committed: int
    waiting_on: str | None
    queue_lead: str
    dependency_alert_minutes: float

    @property
    def case_id(self) -> str: ...  # the workflow id (an escalation's is its escalation id)

    def ledger_record(self, since: int = 0) -> LedgerRecord: ...


class Journal:
    """Events on the record's timeline (each one a new revision), and the commit that shows
    them: the search attributes that changed, the Temporal UI's current details, and the ledger
    row with the new events, written by a local activity (`write`)."""

    def __init__(self, record: Record, write: Callable[..., Any],
                 details: Callable[[Any], str]) -> None:
        self.record = record
        self._write = write
        self._details = details

    def event(self, actor: str, event: str, detail: str = "") -> None:
        record = self.record
        seq = record.timeline[-1].seq + 1 if record.timeline else 1
        record.timeline.append(TimelineEvent(seq=seq, at=workflow.now(), actor=actor,
                                             event=event, detail=detail))
        record.revision = seq

    async def commit(self) -> None:
        record = self.record
        row = record.ledger_record(since=record.committed)  # search attributes show it too
        if workflow.patched("upsert-changed-attributes"):
            changes = search_attributes.changes(workflow.info().typed_search_attributes, row)
        else:  # runs from before upserted every attribute at every commit
            changes = search_attributes.updates(row)
        if changes:
            workflow.upsert_search_attributes(changes)
        workflow.set_current_details(self._details(record))
        revision = record.revision  # events added while the write runs go with the next commit
        await workflow.execute_local_activity_method(self._write, row, **LOCAL)
        record.committed = max(record.committed, revision)

    async def quiet_until(self, until: datetime | None) -> bool:
        """Wait until the record changes (False) or `until` passes first (True; a durable
        timer). With no `until`, wait for a change."""
        revision = self.record.revision
        timeout = None if until is None else max((until - workflow.now()).total_seconds(), 0)
        try:
            await workflow.wait_condition(lambda: self.record.revision != revision,
                                          timeout=timeout)
        except TimeoutError:
            return True
        return False

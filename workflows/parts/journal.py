"""A record's timeline, and how a change to it becomes visible."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
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
    row with the new events, written by a local activity (`write`).

    A run on the lean path (`lean`, set by a workflow whose run is patched with
    `lean-case-path`) costs its history less:
    - commits asked for together are one write: the writer lets the rest of the workflow task
      run first, writes the row of the latest revision once, and upserts the search attributes
      that changed after it, unless a newer commit is already waiting (at most one upsert per
      workflow task, none when nothing changed);
    - the search attributes show where the record rests: any state but the `working` ones, or
      a working state once it waits on a dependency. The steps the engine takes by itself in one
      go (decided, enforcing, notifying) are in the ledger and the timeline, not upserted one by
      one;
    - `quiet_until` waits on one deadline clock: its timer is started when the deadline moves
      and cancelled when it moves or the record stops waiting (left its `waiting` states with no
      wait pending), never restarted at each command (runs from before started and cancelled a
      timer at every wait).

    How commits coalesce (`_SETTLE_PASSES`, the awaits between a change and its commit) is in
    the history of every lean run: change it only behind a patch."""

    def __init__(self, record: Record, write: Callable[..., Any],
                 details: Callable[[Any], str], waiting: Collection[str] = (),
                 working: Collection[str] = ()) -> None:
        self.record = record
        self._write = write
        self._details = details
        self._waiting, self._working = waiting, working
        self.lean = False
        self._asked = self._done = 0  # commits asked for, and the last one written
        self._writer: asyncio.Task[None] | None = None
        self._failed: list[tuple[int, int, BaseException]] = []  # commits whose write failed
        self._pending = 0  # `quiet_until` calls waiting now
        self._due: datetime | None = None  # the deadline `quiet_until` waits for
        self._rang: datetime | None = None  # the last deadline the clock reached
        self._clock: asyncio.Task[None] | None = None

    def event(self, actor: str, event: str, detail: str = "") -> None:
        record = self.record
        seq = record.timeline[-1].seq + 1 if record.timeline else 1
        record.timeline.append(TimelineEvent(seq=seq, at=workflow.now(), actor=actor,
                                             event=event, detail=detail))
        record.revision = seq

    async def commit(self) -> None:
        """Returns once a write holding everything on the record now has landed."""
        if not self.lean:
            return await self._commit_now()
        self._asked += 1
        ticket = self._asked
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_asked())
        await workflow.wait_condition(lambda: self._done >= ticket)
        for after, upto, error in self._failed:
            if after < ticket <= upto:
                raise error

    def idle(self) -> bool:
        """No commit is being written."""
        return self._done == self._asked

    async def _write_asked(self) -> None:
        record = self.record
        while self._done < self._asked:
            for _ in range(_SETTLE_PASSES):  # the task's other commits join this write
                await workflow.wait_condition(lambda: True)
            ticket, revision = self._asked, record.revision
            row = record.ledger_record(since=record.committed)
            workflow.set_current_details(self._details(record))
            try:
                await workflow.execute_local_activity_method(self._write, row, **LOCAL)
            except BaseException as e:  # the commits this write held raise it; later ones go on
                self._failed.append((self._done, ticket, e))
                self._done = ticket
                if isinstance(e, asyncio.CancelledError):
                    raise
                continue
            record.committed = max(record.committed, revision)
            self._done = ticket
            if self._asked == ticket and self._rests() and (
                    changes := search_attributes.changes(
                        workflow.info().typed_search_attributes, row)):
                workflow.upsert_search_attributes(changes)

    def _rests(self) -> bool:
        record = self.record
        return record.state not in self._working or record.waiting_on is not None

    async def _commit_now(self) -> None:
        """Runs from before the lean path: every commit upserts and writes by itself."""
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
        if self.lean:
            self._due = until
            if until is not None and (self._clock is None or self._clock.done()):
                self._clock = asyncio.create_task(self._keep_time())
            self._pending += 1
            try:
                await workflow.wait_condition(lambda: self.record.revision != revision
                                              or (until is not None and self._rang == until))
            finally:
                self._pending -= 1
            return self.record.revision == revision
        timeout = None if until is None else max((until - workflow.now()).total_seconds(), 0)
        try:
            await workflow.wait_condition(lambda: self.record.revision != revision,
                                          timeout=timeout)
        except TimeoutError:
            return True
        return False

    def _next_due(self) -> datetime | None:
        waits = self._pending or self.record.state in self._waiting
        return self._due if waits else None

    async def _keep_time(self) -> None:
        """The deadline clock: one timer per deadline, for as long as the record waits."""
        while True:
            at = self._next_due()
            if at is None or at == self._rang:
                await workflow.wait_condition(lambda at=at: self._next_due() not in (None, at))
                continue
            try:
                await workflow.wait_condition(
                    lambda at=at: self._next_due() != at,
                    timeout=max((at - workflow.now()).total_seconds(), 0))
            except TimeoutError:
                self._rang = at

    def stop(self) -> None:
        """Before the run ends or continues as new."""
        if self._clock is not None:
            self._clock.cancel()


_SETTLE_PASSES = 3  # rounds of the workflow's ready work a write waits for others to join

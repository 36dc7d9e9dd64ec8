"""A workflow's calls to casework's dependencies (the marketplace, the ledger, the outbox) and
its messages to staff."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, RetryState

with workflow.unsafe.imports_passed_through():
    from domain.core import Actor, Event
    from domain.messages import OPS, MessageKind, Notification, Receipt
    from workflows.parts.journal import Journal
    from workflows.parts.options import ACT


class NeedsPerson(Exception):
    """A step failed in a way no retry can mend."""


def why(e: BaseException) -> str:
    """The innermost failure's message: what actually went wrong."""
    while (inner := getattr(e, "cause", None)) is not None:
        e = inner
    return str(getattr(e, "message", None) or e)


class Outbound:
    """`call` runs an activity that calls a dependency: failures that may pass are retried;
    once they have gone on for the record's alert time the lead is told, the record shows what
    it waits on, and it keeps retrying until the dependency answers. A final failure raises
    (`step` turns it into NeedsPerson). Messages to staff go out in the background and never
    fail the workflow; `idle` says none is in flight."""

    def __init__(self, journal: Journal, notify: Callable[..., Any]) -> None:
        self.journal = journal
        self.record = journal.record
        self._notify_activity = notify
        self._spawned: list[asyncio.Task[Any]] = []

    async def call(self, dependency: str, fn: Callable[..., Any], arg: Any,
                   opts: dict[str, Any]) -> Any:
        alert = timedelta(minutes=self.record.dependency_alert_minutes)
        try:
            return await workflow.execute_activity_method(
                fn, arg, schedule_to_close_timeout=alert, **opts)
        except ActivityError as e:
            if e.retry_state is not RetryState.TIMEOUT:  # a final failure, not a long one
                raise
            last = why(e)
        record, name = self.record, getattr(fn, "__name__", str(fn))
        before = record.waiting_on
        record.waiting_on = waiting = f"{dependency} ({name}), failing for {alert} or more: {last}"
        self.journal.event(Actor.WATCHDOG, Event.DEPENDENCY_DOWN, waiting)
        await self.journal.commit()
        await self.tell_staff(f"down-{name}-{record.revision}", record.queue_lead or OPS,
                              MessageKind.DEPENDENCY_DOWN,
                              f"Case {record.case_id} waits on {waiting}", watched=False)
        try:
            result = await workflow.execute_activity_method(fn, arg, **opts)
        finally:
            if record.waiting_on == waiting:  # unless something else is waited on since
                record.waiting_on = before
        self.journal.event(Actor.WATCHDOG, Event.DEPENDENCY_BACK, f"{dependency} ({name}) answered")
        await self.journal.commit()
        return result

    async def step(self, dependency: str, fn: Callable[..., Any], arg: Any,
                   opts: dict[str, Any]) -> Any:
        try:
            return await self.call(dependency, fn, arg, opts)
        except ActivityError as e:
            raise NeedsPerson(f"{getattr(fn, '__name__', fn)} failed: {why(e)}") from None

    def message(self, key: str, recipient: str, kind: str, text: str,
                statement: dict[str, object] | None = None) -> Notification:
        return Notification(message_id=f"{self.record.case_uid}-{key}",
                            case_id=self.record.case_id, recipient=recipient, kind=kind,
                            text=text, statement=statement)

    async def notify(self, key: str, recipient: str, kind: str, text: str,
                     watched: bool = True) -> Receipt | None:
        """A message to staff (a lead, ops). It never fails the workflow: a final failure is
        put on the timeline. `watched=False` for the alert that a dependency is down itself."""
        message = self.message(key, recipient, kind, text)
        try:
            if watched:
                return await self.call("the outbox", self._notify_activity, message, ACT)
            return await workflow.execute_activity_method(self._notify_activity, message, **ACT)
        except ActivityError as e:
            self.journal.event(Actor.NOTIFIER, Event.MESSAGE_FAILED,
                               f"{kind} to {recipient}: {why(e)}")
            return None

    async def tell_staff(self, key: str, recipient: str, kind: str, text: str,
                         watched: bool = True) -> None:
        """In the background: it never holds the workflow up (which does not end or continue
        as new before it has gone). Runs from before waited for it."""
        message = self.notify(key, recipient, kind, text, watched)
        if self.journal.lean or workflow.patched("staff-messages-in-background"):
            self._spawned.append(asyncio.create_task(message))
        else:
            await message

    async def trouble(self, what: str, event: Event, detail: str) -> None:
        """A step a person must see to (`what`: the record's noun, "Appeal"): on the timeline,
        committed, and the record's queue lead told (ops when it has none)."""
        record = self.record
        self.journal.event(Actor.ENFORCER, event, detail)
        await self.journal.commit()
        await self.tell_staff(f"trouble-{record.revision}", record.queue_lead or OPS,
                              MessageKind.NEEDS_ATTENTION, f"{what} {record.case_id}: {detail}")

    def idle(self) -> bool:
        return all(t.done() for t in self._spawned)

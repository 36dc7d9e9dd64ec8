"""A record waiting in a queue: claims and their leases, the SLA clock and its breaches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.authority import ClaimRequest
    from domain.core import Actor, Event
    from domain.engine import Lifecycle
    from domain.messages import MessageKind
    from domain.sla import deadline
    from workflows.parts.journal import Journal
    from workflows.parts.outbound import Outbound


class Queueing:
    """The lifecycle declares where claims, lease expiries and breaches may happen
    (`claim`, `expire_lease`, `breach_sla`); this part carries them out the same way for every
    queued record."""

    def __init__(self, record: Any, lc: Lifecycle, journal: Journal, out: Outbound,
                 on_breach: Callable[[int], Awaitable[None]] | None = None,
                 quiet: bool = False) -> None:
        self.record, self.lc, self.journal, self.out = record, lc, journal, out
        self._on_breach = on_breach  # what the workflow does on top (a second breach escalates)
        self.quiet = quiet  # a breach is marked, and nobody hears of it (a calibration case)

    def claim(self, req: ClaimRequest) -> None:
        """A claim changes the record before its handler's first await (races lose)."""
        self.lc.fire("claim", *([req] if "claim" in self.lc.declaration.reasons else []))
        record = self.record
        record.assignee = req.reviewer
        record.lease_expires_at = workflow.now() + timedelta(minutes=req.lease_minutes)
        self.journal.event(req.reviewer, Event.CLAIMED,
                           f"lease until {record.lease_expires_at:%H:%M:%SZ}")

    async def wait(self) -> None:
        """Wait for a command, a lease expiry or the SLA deadline, whichever comes first."""
        record = self.record
        due = [d for d in (record.sla_deadline, record.lease_expires_at) if d is not None]
        if not await self.journal.quiet_until(min(due) if due else None):
            return
        now = workflow.now()
        if (record.state in self.lc.allowed_from("expire_lease") and record.lease_expires_at
                and record.lease_expires_at <= now):
            self.lc.fire("expire_lease")
            self.journal.event(Actor.SLA_CLOCK, Event.LEASE_EXPIRED,
                               f"{record.assignee}'s claim lapsed")
            record.assignee, record.lease_expires_at = None, None
            await self.journal.commit()
        if (record.sla_deadline and record.sla_deadline <= now
                and record.state in self.lc.allowed_from("breach_sla")):
            await self.breach()

    async def breach(self) -> None:
        """Marked (searchable), one priority step up, a new deadline; the record says who
        hears (`Tracked.breach`)."""
        record = self.record
        self.lc.fire("breach_sla")
        record.breaches += 1
        record.sla_breached = True
        before, missed = record.priority, record.sla_deadline
        record.priority = before.raised()
        said = record.breach(missed, before)
        record.sla_deadline = deadline(workflow.now(), said.hours)
        self.journal.event(Actor.SLA_CLOCK, Event.SLA_BREACHED, said.detail)
        await self.journal.commit()
        if self.quiet:
            return
        for suffix, address, text in said.tell:
            await self.out.tell_staff(f"breach-{record.breaches}{suffix}", address,
                                      MessageKind.SLA_BREACH, text)
        if self._on_breach:
            await self._on_breach(record.breaches)

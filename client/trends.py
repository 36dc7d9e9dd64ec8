"""Trend scans through the client: a scan now (a workflow of its own, answered when done), the
hourly Schedule made or updated, and what a lead reads (volumes per policy and day, the spikes
found and the escalations they opened). Leads, admins and ops."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)

from client.base import ClientBase
from domain.people import Role
from domain.trend_models import ScanInput, ScanResult, whole_minutes
from workflows.trends import TrendScanWorkflow

WATCHERS = frozenset({Role.LEAD, Role.ADMIN, Role.OPS})
SCHEDULERS = frozenset({Role.LEAD, Role.ADMIN})
class Trends(ClientBase):
    @property
    def schedule_id(self) -> str:
        return f"{self.settings.case_prefix}-trend-scan"

    async def scan_trends(self, person_id: str, window: timedelta | None = None,
                          request_id: str | None = None) -> ScanResult:
        """Scan now: the window ending now (default: the pack's), against its baseline."""
        self.directory.require(person_id, WATCHERS)
        minutes = whole_minutes(window, "a window") if window is not None else None
        run_id = request_id or uuid.uuid4().hex
        return await self.guard(self.temporal.execute_workflow(  # type: ignore[no-any-return]
            TrendScanWorkflow.run, ScanInput(window_minutes=minutes),
            id=f"{self.schedule_id}-now-{run_id}"[:250], task_queue=self.settings.task_queue,
            static_summary=f"a trend scan asked by {person_id}"), self.schedule_id)

    async def schedule_trends(self, person_id: str | None, every: timedelta | None = None
                              ) -> dict[str, Any]:
        """Make the Schedule that scans every `every` (default: the pack's), or update it.
        `person_id` None: casework itself (`make run`)."""
        if person_id is not None:
            self.directory.require(person_id, SCHEDULERS)
        minutes = (whole_minutes(every, "--every") if every is not None
                   else self.pack().trends.every_minutes)
        schedule = Schedule(
            action=ScheduleActionStartWorkflow(
                TrendScanWorkflow.run, ScanInput(), id=f"{self.schedule_id}-run",
                task_queue=self.settings.task_queue),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(minutes=minutes))]),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP))
        try:
            await self.temporal.create_schedule(self.schedule_id, schedule)
            made = "created"
        except ScheduleAlreadyRunningError:
            await self.temporal.get_schedule_handle(self.schedule_id).update(
                lambda _: ScheduleUpdate(schedule=schedule))
            made = "updated"
        return {"schedule_id": self.schedule_id, "every_minutes": minutes, "made": made}

    async def trends(self, person_id: str, weeks: int = 8) -> dict[str, Any]:
        """Cases opened per policy and day over `weeks`, the spikes found lately and whether
        the Schedule is there."""
        self.directory.require(person_id, WATCHERS)
        until = datetime.now(UTC)
        daily = await asyncio.to_thread(self.ledger.daily, until - timedelta(weeks=weeks), until)
        spikes = await asyncio.to_thread(self.ledger.spikes)
        try:
            described = await self.temporal.get_schedule_handle(self.schedule_id).describe()
            every = [int(i.every.total_seconds() // 60)
                     for i in described.schedule.spec.intervals]
            scheduled: dict[str, Any] | None = {
                "schedule_id": self.schedule_id, "every_minutes": every[0] if every else None,
                "next": [t.isoformat() for t in described.info.next_action_times[:1]]}
        except Exception:  # noqa: BLE001 - no schedule (or no Temporal): said, not raised
            scheduled = None
        return {"since": (until - timedelta(weeks=weeks)).date().isoformat(),
                "daily": [{"policy": p or "-", "day": d, "cases": n} for p, d, n in daily],
                "spikes": spikes, "schedule": scheduled}

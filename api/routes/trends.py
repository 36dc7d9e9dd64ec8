"""Abuse trends: a scan now, the hourly Schedule, and what leads read (leads, admins, ops)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from api.deps import AsPerson, Client, In, RequestId
from domain.trend_models import ScanResult

router = APIRouter(tags=["trends"])


class ScanIn(In):
    window_minutes: int | None = Field(
        default=None, ge=1, le=7 * 24 * 60,
        description="the window ending now (default: the pack's); its baseline is the same "
                    "hours of the weeks before")


class ScheduleIn(In):
    every_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60,
                                      description="default: the pack's")


@router.post("/api/trends/scans")
async def scan(body: ScanIn, c: Client, who: AsPerson, request_id: RequestId) -> ScanResult:
    """Scan now: the spikes found, the escalations opened or told the spike grew."""
    window = timedelta(minutes=body.window_minutes) if body.window_minutes else None
    return await c.scan_trends(who.id, window, request_id)  # type: ignore[no-any-return]


@router.put("/api/trends/schedule")
async def schedule(body: ScheduleIn, c: Client, who: AsPerson) -> dict[str, Any]:
    """Make the Schedule that scans for trends, or change how often it runs."""
    every = timedelta(minutes=body.every_minutes) if body.every_minutes else None
    return await c.schedule_trends(who.id, every)  # type: ignore[no-any-return]


@router.get("/api/trends")
async def trends(c: Client, who: AsPerson) -> dict[str, Any]:
    """Cases opened per policy and day over eight weeks, the spikes found and the Schedule."""
    return await c.trends(who.id)  # type: ignore[no-any-return]

"""Productivity and quality reports, and calibration sets: figures for everyone to leads,
seniors and admins, one's own to anyone else (the client applies the rule); CSV per section."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import Field

from api.deps import AsPerson, Client, In, csv_response
from domain.errors import InvalidInput, build
from domain.reports import Report, ReportKind, ReportQuery, Section, parse_period, table
from domain.text import Ident

router = APIRouter(tags=["reports"])
Name = Annotated[str | None, Query(max_length=200)]


async def make_report(c: Any, who: str, kind: ReportKind, since: str | None,
                      until: str | None, queue: str | None, reviewer: str | None) -> Report:
    start, end = parse_period(since, until, datetime.now(UTC))
    return await c.report(who, build(ReportQuery, kind=kind, since=start, until=end,
                                     queue=queue, reviewer=reviewer))


@router.get("/api/reports/{kind}", response_model=None)
async def report(kind: ReportKind, c: Client, who: AsPerson, since: Name = None,
                 until: Name = None, queue: Name = None, reviewer: Name = None,
                 format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
                 section: Section = Section.REVIEWERS) -> Report | Response:
    """Figures per reviewer, queue, policy and week for decisions made in [since, until)
    (default: the last 28 days), each marked met or missed against the pack's targets;
    `format=csv`: one section as CSV."""
    found = await make_report(c, who.id, kind, since, until, queue, reviewer)
    if format == "csv":
        header, rows = table(found, section)
        return csv_response(header, rows, f"{kind.value}-{section.value}")
    return found


class CalibrationIn(In):
    set_id: Ident
    text: str = Field(max_length=8 * 2**20)


@router.post("/api/calibration/sets")
async def load_calibration(body: CalibrationIn, c: Client, who: AsPerson) -> dict[str, Any]:
    """Load a set of known-answer items (JSON lines): whole, or nothing with every bad line
    named (leads and admins)."""
    if not body.text.strip():
        raise InvalidInput("the calibration file has no items")
    return await c.load_calibration(who.id, body.set_id, body.text)  # type: ignore[no-any-return]


@router.get("/api/calibration/sets")
async def calibration_sets(c: Client, who: AsPerson) -> list[dict[str, Any]]:
    return await c.calibration_sets(who.id)  # type: ignore[no-any-return]


@router.get("/api/calibration/results")
async def calibration_results(c: Client, who: AsPerson, set_id: Name = None,
                              reviewer: Name = None) -> list[dict[str, Any]]:
    """Each answered calibration case; a reviewer reads their own."""
    return await c.calibration_results(who.id, set_id, reviewer)  # type: ignore[no-any-return]

"""Intake: reports from the public and the marketplace's systems, filed by services (a person
of the T&S team files only `internal` reports, as themself)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from api.deps import Caller, Client, In, RequestId
from api.problems import Forbidden, problem_of
from client.casework import CaseworkClient
from client.credentials import Principal
from domain.core import Detector, Source
from domain.errors import CaseworkError, InvalidInput
from domain.review.models import CaseRef

router = APIRouter(prefix="/api/reports", tags=["intake"])


class ReportIn(In):
    subject: str
    source: str
    reporter: str | None = None
    text: str = ""
    policy_hint: str | None = None
    detector: Detector | None = Field(
        default=None, description="an automated source's model, its version and its score (0..1)")


@router.post("", status_code=201)
async def file_report(body: ReportIn, c: Client, who: Caller, request_id: RequestId) -> CaseRef:
    """File a report; the same `Idempotency-Key` again answers the same case."""
    return await _file(c, who, body, request_id)


@router.post("/batch", status_code=200)
async def file_reports(body: list[ReportIn], c: Client, who: Caller) -> list[Any]:
    """Up to 100 reports; each answered on its own (a case, or its problem)."""
    if len(body) > 100:
        raise InvalidInput(f"{len(body)} reports: a batch takes at most 100")
    out: list[Any] = []
    for report in body:
        try:
            out.append(await _file(c, who, report, None))
        except CaseworkError as e:
            out.append(json.loads(problem_of(e).body))
    return out


async def _file(c: CaseworkClient, who: Principal, body: ReportIn,
                request_id: str | None) -> CaseRef:
    try:
        source = Source(body.source)
    except ValueError:
        raise InvalidInput(f"unknown source {body.source!r}") from None
    if not who.may_file(source):
        raise Forbidden(f"{who.id} may not file {source.value} reports")
    if who.is_person:
        reporter = who.id
    else:  # a service names the public's reporters, never the T&S team
        reporter = body.reporter
        if reporter is not None and await c.person(reporter) is not None:
            raise Forbidden(f"{who.id} may not file reports as {reporter!r}: a person of "
                            "the directory files their own")
    return await c.open_case(body.subject, source, reporter=reporter, text=body.text,
                             policy_hint=body.policy_hint, report_id=request_id,
                             detector=body.detector)

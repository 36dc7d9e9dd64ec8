"""Ops over HTTP: stuck records and their repairs, queue backlogs, who polls the task queue;
read by ops, leads and admins, repaired by ops (the client checks the role)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends
from pydantic import Field

from api.deps import AsPerson, Client, In, RequestId
from api.problems import Forbidden
from api.roles import OPS_READERS, has
from client.credentials import Principal
from client.ops import REPAIRS, Ops
from domain.errors import InvalidInput, parse_members
from domain.ops import Explanation, QueueBacklog, RepairReport, Stuck, StuckKind, Workers

router = APIRouter(prefix="/api/ops", tags=["ops"])


def ops_reader(who: AsPerson) -> Principal:
    if not has(who.person, OPS_READERS):
        raise Forbidden(f"{who.id} may not read ops' views: ops, leads and admins do")
    return who


class RepairIn(In):
    repair: str
    case_id: str | None = None
    query: str | None = None
    all_stuck: bool = False
    kind: str | None = None
    act: bool = True  # a batch lists what would change unless this holds
    reason: str
    to: str | None = None  # reassign: who takes the claim
    priority: str | None = None  # bump: to this priority
    severity: str = "P1"  # escalate: the escalation's severity
    to_event: int | None = Field(default=None, ge=1)  # reset: to this completed workflow task


def _kind(kind: str | None) -> StuckKind | None:
    return parse_members(StuckKind, [kind], "kind")[0] if kind else None


@router.get("/stuck", dependencies=[Depends(ops_reader)])
async def stuck(c: Client, kind: str | None = None) -> list[Stuck]:
    """Stuck records of every lifecycle, why, and the repair."""
    return await Ops(c).stuck(_kind(kind))


@router.get("/backlog", dependencies=[Depends(ops_reader)])
async def backlog(c: Client) -> list[QueueBacklog]:
    """Per queue: open by state, oldest, breached, 24 h SLA compliance."""
    return await asyncio.to_thread(Ops(c).backlog)


@router.get("/workers", dependencies=[Depends(ops_reader)])
async def workers(c: Client) -> Workers:
    """Who polls casework's task queue, and when they last did."""
    return await Ops(c).workers()


@router.get("/records/{record_id}", dependencies=[Depends(ops_reader)])
async def explain(record_id: str, c: Client) -> Explanation:
    """One record: state, waits, activities, recent events, why it is stuck."""
    return await Ops(c).explain(record_id)


@router.post("/repairs")
async def repair(body: RepairIn, c: Client, who: AsPerson, request_id: RequestId) -> RepairReport:
    """One repair, by the signed-in operator, or a batch (a dry run unless `act`)."""
    if body.repair not in REPAIRS:
        raise InvalidInput(f"unknown repair {body.repair!r}; known: {', '.join(REPAIRS)}")
    return await Ops(c).repairs(body.repair, who.id, body.reason, case_id=body.case_id,
                                query=body.query, all_stuck=body.all_stuck,
                                kind=_kind(body.kind), act=body.act, request_id=request_id,
                                to=body.to, priority=body.priority, severity=body.severity,
                                to_event=body.to_event)

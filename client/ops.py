"""Ops: find stuck records of every lifecycle and explain one, from the ledger and Temporal.

The ledger's rows answer most kinds at once (one indexed read however many records are open);
Temporal's visibility answers failing workflow tasks (`TemporalReportedProblems`); only the few
records that look idle where they should be working are described one by one, for an activity
retrying and for a ledger row that lags its workflow. No history is read for the scan.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from temporalio.api.enums.v1 import PendingActivityState, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import WorkflowExecutionDescription
from temporalio.service import RPCError, RPCStatusCode

from client.api import CaseworkClient
from domain.core import QueueEntry, TimelineEvent
from domain.errors import NotFound, Unavailable
from domain.lifecycles import LIFECYCLES
from domain.ops import Stuck, StuckKind, stuck, stuck_in_ledger
from workflows import search_attributes

FINAL = sorted({s for d in LIFECYCLES.values() for s in d.final_states})
WORKING = {"screening", "enforcing", "notifying", "decided", "planned", "executing", "reversing",
           "filed", "upheld", "overturned", "modified", "notified", "resolved"}
IDLE = timedelta(minutes=2)  # working with no ledger write this long: ask Temporal why
MAX_DESCRIBED = 50


class PendingActivity(BaseModel):
    activity: str
    attempt: int
    state: str
    last_failure: str = ""


class Explanation(BaseModel):
    case_id: str
    lifecycle: str
    state: str
    since: datetime | None = None
    status: str  # Temporal's: running, completed, …
    waiting_on: str | None = None
    pending_activities: list[PendingActivity] = []
    task_attempt: int = 0  # the workflow task's attempt (above 1: it is failing)
    recent: list[TimelineEvent] = []
    stuck: list[Stuck] = []


class QueueBacklog(BaseModel):
    queue: str
    open: int
    by_state: dict[str, int]
    breached: int
    oldest_opened_at: datetime | None = None
    oldest_age_h: float = 0
    decided_24h: int = 0
    sla_compliance_24h: float | None = None  # share decided within their SLA (None: none)


class Poller(BaseModel):
    kind: str  # workflow | activity
    identity: str
    last_access: datetime | None = None
    age_s: float | None = None


class Workers(BaseModel):
    task_queue: str
    pollers: list[Poller]
    ok: bool  # a worker polls both kinds of task within the last minute


class Ops:
    def __init__(self, cw: CaseworkClient) -> None:
        self.cw = cw

    async def stuck(self, kind: StuckKind | None = None) -> list[Stuck]:
        now = datetime.now(UTC)
        cfg = self.cw.pack().ops
        rows = self.cw.ledger.open_rows(FINAL)
        found = [s for row in rows for s in stuck_in_ledger(row, now, cfg)]
        found += await self._failing_tasks({r.case_id: r for r in rows})
        idle = [r for r in rows if r.waiting_on or (r.state in WORKING
                                                    and r.updated_at + IDLE < now)]
        described = await asyncio.gather(*(self._describe(r.case_id)
                                           for r in idle[:MAX_DESCRIBED]))
        for row, desc in zip(idle, described, strict=False):
            if desc is not None:
                found += _from_description(row, desc, cfg.retry_attempts)
        return [s for s in found if kind is None or s.kind is kind]

    def backlog(self) -> list[QueueBacklog]:
        now = datetime.now(UTC)
        decided = self.cw.ledger.decided_since(now - timedelta(hours=24))
        queues: dict[str, QueueBacklog] = {}
        for queue, state, n, breached, oldest in self.cw.ledger.backlog(FINAL):
            q = queues.setdefault(queue, QueueBacklog(queue=queue, open=0, by_state={},
                                                      breached=0))
            q.open, q.breached = q.open + n, q.breached + breached
            q.by_state[state] = n
            opened = datetime.fromisoformat(oldest)
            if q.oldest_opened_at is None or opened < q.oldest_opened_at:
                q.oldest_opened_at = opened
                q.oldest_age_h = round((now - opened).total_seconds() / 3600, 1)
        for queue, (n, late) in decided.items():
            q = queues.setdefault(queue, QueueBacklog(queue=queue, open=0, by_state={},
                                                      breached=0))
            q.decided_24h, q.sla_compliance_24h = n, round((n - late) / n, 3)
        return sorted(queues.values(), key=lambda q: q.queue)

    async def workers(self) -> Workers:
        """Who polls casework's task queue, and when they last did."""
        now = datetime.now(UTC)
        pollers = []
        for kind, tq_type in (("workflow", TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW),
                              ("activity", TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY)):
            try:
                answer = await self.cw.temporal.workflow_service.describe_task_queue(
                    DescribeTaskQueueRequest(
                        namespace=self.cw.temporal.namespace, task_queue_type=tq_type,
                        task_queue=TaskQueue(name=self.cw.settings.task_queue)),
                    timeout=self.cw.read_timeout)
            except RPCError as e:
                raise Unavailable(f"Temporal: {e.message}") from None
            for p in answer.pollers:
                seen = p.last_access_time.ToDatetime(tzinfo=UTC) if p.HasField(
                    "last_access_time") else None
                pollers.append(Poller(kind=kind, identity=p.identity, last_access=seen,
                                      age_s=round((now - seen).total_seconds(), 1)
                                      if seen else None))
        fresh = {p.kind for p in pollers if p.age_s is not None and p.age_s < 60}
        return Workers(task_queue=self.cw.settings.task_queue, pollers=pollers,
                       ok=fresh == {"workflow", "activity"})

    async def _failing_tasks(self, rows: dict[str, QueueEntry]) -> list[Stuck]:
        query = (f"TaskQueue = '{self.cw.settings.task_queue}' AND ExecutionStatus = 'Running' "
                 "AND TemporalReportedProblems IS NOT NULL")
        out = []
        try:
            async for wf in self.cw.temporal.list_workflows(query, limit=MAX_DESCRIBED):
                problems = wf.search_attributes.get("TemporalReportedProblems") or []
                row = rows.get(wf.id)
                if row is None:
                    continue
                out.append(stuck(row, StuckKind.TASK_FAILING,
                                 f"its workflow task fails ({', '.join(map(str, problems))})"))
        except RPCError as e:
            raise Unavailable(f"Temporal visibility: {e.message}") from None
        return out

    async def _describe(self, case_id: str) -> WorkflowExecutionDescription | None:
        try:
            return await self.cw.temporal.get_workflow_handle(case_id).describe(
                rpc_timeout=self.cw.read_timeout)
        except RPCError as e:
            if e.status is RPCStatusCode.NOT_FOUND:
                return None
            raise Unavailable(f"Temporal: {e.message}") from None

    async def explain(self, case_id: str) -> Explanation:
        row = self.cw.ledger.case(case_id)
        desc = await self._describe(case_id)
        if row is None and desc is None:
            raise NotFound(f"no case, appeal, escalation, job or review {case_id!r}")
        raw = desc.raw_description if desc else None
        pending = [_pending(a) for a in raw.pending_activities] if raw else []
        task = raw.pending_workflow_task.attempt if raw and raw.HasField(
            "pending_workflow_task") else 0
        now = datetime.now(UTC)
        found = stuck_in_ledger(row, now, self.cw.pack().ops) if row else []
        if row and desc:
            found += _from_description(row, desc, self.cw.pack().ops.retry_attempts)
            if task > 1 and not any(s.kind is StuckKind.TASK_FAILING for s in found):
                found.append(stuck(row, StuckKind.TASK_FAILING,
                                   f"its workflow task failed {task - 1} time(s)"))
        return Explanation(
            case_id=case_id, lifecycle=row.lifecycle if row else "?",
            state=row.state if row else "?", since=row.state_since if row else None,
            status=desc.status.name.lower() if desc and desc.status else "unknown",
            waiting_on=row.waiting_on if row else None, pending_activities=pending,
            task_attempt=task, recent=self.cw.ledger.audit(case_id)[-8:], stuck=found)


def _pending(a: Any) -> PendingActivity:
    return PendingActivity(activity=a.activity_type.name, attempt=a.attempt,
                           state=PendingActivityState.Name(a.state).removeprefix(
                               "PENDING_ACTIVITY_STATE_").lower(),
                           last_failure=" ".join(a.last_failure.message.split()))


def _from_description(row: QueueEntry, desc: WorkflowExecutionDescription,
                      attempts: int) -> list[Stuck]:
    out = []
    for a in map(_pending, desc.raw_description.pending_activities):
        if a.attempt >= attempts or row.waiting_on:
            out.append(stuck(row, StuckKind.ACTIVITY_RETRYING,
                             f"{a.activity} attempt {a.attempt}: {a.last_failure or a.state}"))
    live = desc.typed_search_attributes.get(search_attributes.STATE)
    if live and live != row.state:
        out.append(stuck(row, StuckKind.LEDGER_LAG,
                         f"the ledger says {row.state}, the workflow {live}"))
    return out

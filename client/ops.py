"""Ops: find stuck records of every lifecycle and explain one, from the ledger and Temporal.

The ledger's rows answer most kinds at once (one indexed read however many records are open);
Temporal's visibility answers failing workflow tasks (`TemporalReportedProblems`); only the few
records that look idle where they should be working are described one by one, for an activity
retrying and for a ledger row that lags its workflow. No history is read for the scan.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, PendingActivityState, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    ResetActivityRequest,
    ResetWorkflowExecutionRequest,
)
from temporalio.client import WorkflowExecutionDescription
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

from client.casework import CaseworkClient, parse_choice
from config import search_attributes
from domain.authority import claim_rule
from domain.core import CaseSummary, Priority, QueueEntry
from domain.errors import CaseworkError, InvalidInput, NotFound, Refused, Unavailable, build
from domain.escalation.models import EscalationSummary
from domain.lifecycles import LIFECYCLES, OPEN_WORK, every
from domain.ops import (
    Explanation,
    OpsRepair,
    PendingActivity,
    Poller,
    QueueBacklog,
    RepairReport,
    RepairResult,
    Stuck,
    StuckKind,
    Workers,
    scoped,
    stuck,
    stuck_in_ledger,
    task_failing_repair,
    watched,
)
from domain.people import Role
from domain.review.lifecycle import CANCELLABLE, REVIEW

FINAL = sorted(every("final"))
WORKING = every("working")  # the engine works there by itself: a record idle there is stuck
MAX_DESCRIBED = 50  # idle working records asked about their activities, per scan
MAX_FAILING = 1_000
# Set by the server on a workflow whose task keeps failing (a bug, nondeterminism).
REPORTED_PROBLEMS = SearchAttributeKey.for_keyword_list("TemporalReportedProblems")


REPAIRS = ("reassign", "release", "bump", "retry", "escalate", "cancel", "reset")


class Ops:
    def __init__(self, cw: CaseworkClient) -> None:
        self.cw = cw

    async def stuck(self, kind: StuckKind | None = None) -> list[Stuck]:
        now = datetime.now(UTC)
        cfg = self.cw.pack().ops
        rows = self.cw.ledger.open_rows(FINAL, sorted(watched(cfg) | WORKING))
        found = [s for row in rows for s in stuck_in_ledger(row, now, cfg)]
        found += await self._failing_tasks({r.case_id: r for r in rows})
        quiet = timedelta(minutes=cfg.idle_minutes)
        idle = [r for r in rows if r.waiting_on or (r.state in WORKING
                                                    and r.updated_at + quiet < now)]
        described = await asyncio.gather(*(self._describe(r.case_id)
                                           for r in idle[:MAX_DESCRIBED]))
        for row, desc in zip(idle, described, strict=False):
            if desc is not None:
                found += await self._from_description(row, desc, cfg.retry_attempts)
        return [s for s in found if kind is None or s.kind is kind]

    # -- repairs -------------------------------------------------------------------------------
    async def repairs(self, repair: str, operator: str, reason: str, case_id: str | None = None,
                      query: str | None = None, all_stuck: bool = False,
                      kind: StuckKind | None = None, act: bool = True,
                      request_id: str | None = None, **options: Any) -> RepairReport:
        """One record by its id, or a batch (a visibility `query` within casework's task
        queue, or every stuck record, of a `kind`): a batch only lists what would change unless
        `act`; one record that cannot be repaired is refused, a batch reports each failure."""
        batch = query is not None or all_stuck
        if batch == (case_id is not None):
            raise InvalidInput("give one ID, or --query/--all-stuck for a batch")
        if repair == "reset" and all_stuck and kind is not StuckKind.TASK_FAILING:
            raise InvalidInput("a batch reset takes only failing tasks: --kind task_failing")
        self.cw.directory.require(operator, Role.OPS)
        ids = await self.targets(query, kind) if batch else [str(case_id)]
        if batch and not act:
            return RepairReport(results=[RepairResult(case_id=i, repair=repair, done=False,
                                                      detail="dry run") for i in ids])
        report = RepairReport(results=[])
        for record_id in ids:
            try:
                report.results.append(await self.repair(
                    repair, record_id, operator, reason, request_id=request_id and
                    f"{request_id}:{record_id}", **options))
            except CaseworkError as e:
                if not batch:
                    raise
                report.failed.append(f"{record_id}: {e}")
        return report

    async def repair(self, repair: str, case_id: str, operator: str, reason: str,
                     to: str | None = None, priority: str | None = None,
                     severity: str = "P1", to_event: int | None = None,
                     request_id: str | None = None) -> RepairResult:
        """One repair on one record, by an operator (the ops role), for a reason; each lands on
        the record's timeline."""
        if repair not in REPAIRS:
            raise InvalidInput(f"unknown repair {repair!r}; known: {', '.join(REPAIRS)}")
        req = build(OpsRepair, operator=operator, reason=reason, reviewer=to,
                    priority=parse_choice(Priority, priority, "priority") if priority else None,
                    severity=parse_choice(Priority, severity, "severity"))
        self.cw.directory.require(operator, Role.OPS)
        row = self.cw.ledger.case(case_id)
        if row is None and await self._describe(case_id) is None:
            raise NotFound(f"no case, appeal, escalation, job or review {case_id!r}")

        if repair == "reassign":
            if not to:
                raise InvalidInput("reassign needs --to PERSON")
            if row is not None:  # the new holder may hold it, as for their own claim
                holds, queue = claim_rule(row.queue)
                req.holder = (await self.cw.on_record(case_id, to, row.lifecycle, holds,
                                                      in_queue=queue is not None)).person
        if repair in ("cancel", "escalate") and (row is None or row.lifecycle != "review"):
            raise Refused(f"{case_id} is no review case: only review cases are {repair}ed"
                          + (" (a takedown job is cancelled by its requester: casework "
                             "takedown cancel)" if repair == "cancel" else ""))
        if repair == "cancel" and row is not None and row.state not in CANCELLABLE:
            raise Refused(f"cannot cancel a case in state {row.state!r} (allowed from: "
                          f"{', '.join(sorted(CANCELLABLE))})")

        async def update(name: str) -> str:
            found = await self.cw.on_record(case_id, operator, tuple(LIFECYCLES), Role.OPS,
                                            in_queue=False)  # retry and reset send no command
            summary = await self.cw.command(
                case_id, name, req, found, request_id,
                EscalationSummary if name == "ops_escalate" else CaseSummary)
            if repair == "escalate":
                return f"escalated: {summary.escalation_id}"
            if repair == "cancel":
                return f"cancelled: {summary.state}"
            return f"{summary.state}, {summary.priority.value}, assignee {summary.assignee}"

        run = {"release": lambda: update("ops_release"),
               "reassign": lambda: update("ops_reassign"),
               "bump": lambda: update("ops_bump"),
               "retry": lambda: self._retry_now(case_id, req),
               "escalate": lambda: update("ops_escalate"),
               "cancel": lambda: update("ops_cancel"),
               "reset": lambda: self._reset(case_id, req, to_event)}[repair]
        return RepairResult(case_id=case_id, repair=repair, done=True, detail=await run())

    async def _retry_now(self, case_id: str, req: OpsRepair) -> str:
        """Parked cases resume; activities waiting out a retry backoff run again now."""
        row = self.cw.ledger.case(case_id)
        if row is not None and row.state in REVIEW.sources("retry"):
            summary = await self.cw.retry(case_id, req.operator, req.reason)
            return f"resumed: {summary.state}"
        desc = await self._describe(case_id)
        waiting = [a for a in desc.raw_description.pending_activities
                   if a.attempt > 1] if desc else []
        if not waiting:
            raise Refused(f"{case_id} has no activity retrying and is not parked")
        for a in waiting:
            await self._rpc(self.cw.temporal.workflow_service.reset_activity(
                ResetActivityRequest(namespace=self.cw.temporal.namespace, id=a.activity_id,
                                     execution=WorkflowExecution(workflow_id=case_id),
                                     identity=req.operator), timeout=self.cw.command_timeout))
        names = ", ".join(a.activity_type.name for a in waiting)
        await self._note(case_id, req, f"retried now: {names}: {req.reason}")
        return f"retried now: {names}"

    async def _reset(self, case_id: str, req: OpsRepair, to_event: int | None = None) -> str:
        """Back to the last workflow task that completed, or to the completed task `to_event`
        (the last good one, when the bad deploy completed tasks too): the events since are
        replayed on today's code."""
        desc = await self._describe(case_id)
        failing = desc is not None and (
            desc.raw_description.pending_workflow_task.attempt > 1
            or desc.typed_search_attributes.get(REPORTED_PROBLEMS))
        if not failing:
            raise Refused(f"{case_id}'s workflow task is not failing: nothing to reset")
        handle = self.cw.temporal.get_workflow_handle(case_id)
        last, completed = 0, set()
        try:
            async for event in handle.fetch_history_events():
                if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                    last = event.event_id
                    completed.add(last)
        except RPCError as e:
            if e.status is RPCStatusCode.NOT_FOUND:
                raise NotFound(f"no workflow {case_id}") from None
            raise Unavailable(f"Temporal: {e.message}") from None
        if to_event is not None:
            if to_event not in completed:
                raise InvalidInput(f"event {to_event} of {case_id} is no completed workflow "
                                   f"task (those are: {', '.join(map(str, sorted(completed)))})")
            last = to_event
        if not last:
            raise Refused(f"{case_id} has no completed workflow task to go back to")
        answer = await self._rpc(self.cw.temporal.workflow_service.reset_workflow_execution(
            ResetWorkflowExecutionRequest(
                namespace=self.cw.temporal.namespace,
                workflow_execution=WorkflowExecution(workflow_id=case_id),
                reason=f"{req.operator}: {req.reason}", workflow_task_finish_event_id=last,
                request_id=str(uuid.uuid4())), timeout=self.cw.command_timeout))
        await self._note(case_id, req, f"reset to event {last}: {req.reason}")
        return f"reset to event {last}: run {answer.run_id}"

    async def _note(self, case_id: str, req: OpsRepair, text: str) -> None:
        """A repair done from outside, on the record's timeline: a note sealed for this record
        (by its first run id) as its operator."""
        desc = await self._describe(case_id)
        uid = desc.raw_description.workflow_execution_info.first_run_id if desc else ""
        note = req.model_copy(update={"reason": text})
        note.as_person(self.cw.directory.require(req.operator, Role.OPS, fresh=True), uid,
                       datetime.now(UTC), uuid.uuid4().hex)
        await self._rpc(self.cw.temporal.get_workflow_handle(case_id).signal("ops_note", note))

    @staticmethod
    async def _rpc(call: Any) -> Any:
        try:
            return await call
        except RPCError as e:
            if e.status is RPCStatusCode.NOT_FOUND:
                raise NotFound(e.message) from None
            if e.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise Unavailable(f"Temporal unavailable: {e.message}") from None
            raise Refused(e.message) from None

    async def targets(self, query: str | None = None, kind: StuckKind | None = None
                      ) -> list[str]:
        """The records a batch repair acts on: a visibility query (within casework's task
        queue), or the stuck ones (of a kind)."""
        if query is None:
            return sorted({s.case_id for s in await self.stuck(kind)})
        within = scoped(self.cw.settings.task_queue, query)
        try:
            return sorted({wf.id async for wf in self.cw.temporal.list_workflows(within)})
        except RPCError as e:
            raise InvalidInput(f"the server refused the query: {e.message}") from None

    def backlog(self) -> list[QueueBacklog]:
        now = datetime.now(UTC)
        decided = self.cw.ledger.decided_since(now - timedelta(hours=24))
        queues: dict[str, QueueBacklog] = {}
        for queue, state, n, breached, oldest in self.cw.ledger.backlog(FINAL):
            q = queues.setdefault(queue, QueueBacklog(queue=queue, open=0, by_state={},
                                                      breached=0))
            q.by_state[state] = n
            if state not in OPEN_WORK:  # the rule every page counts by; by_state shows all
                continue
            q.open, q.breached = q.open + n, q.breached + breached
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
        """Records whose workflow task keeps failing, found by visibility (also those that
        failed before their ledger row was written)."""
        query = (f"TaskQueue = '{self.cw.settings.task_queue}' AND ExecutionStatus = 'Running' "
                 "AND TemporalReportedProblems IS NOT NULL")
        out = []
        try:
            async for wf in self.cw.temporal.list_workflows(query, limit=MAX_FAILING):
                problems = ", ".join(wf.typed_search_attributes.get(REPORTED_PROBLEMS) or [])
                reason = f"its workflow task fails ({problems})"
                row = rows.get(wf.id) or self.cw.ledger.case(wf.id)
                out.append(stuck(row, StuckKind.TASK_FAILING, reason) if row else Stuck(
                    case_id=wf.id, lifecycle=wf.workflow_type, state="(not in the ledger)",
                    queue="", kind=StuckKind.TASK_FAILING, reason=reason,
                    suggested=task_failing_repair(wf.id)))
        except RPCError as e:
            raise Unavailable(f"Temporal visibility: {e.message}") from None
        return out

    async def _describe(self, case_id: str) -> WorkflowExecutionDescription | None:
        """The record's workflow; None when there is none on casework's task queue (another
        team's workflow in the namespace is not casework's to read or repair)."""
        try:
            desc = await self.cw.temporal.get_workflow_handle(case_id).describe(
                rpc_timeout=self.cw.read_timeout)
        except RPCError as e:
            if e.status is RPCStatusCode.NOT_FOUND:
                return None
            raise Unavailable(f"Temporal: {e.message}") from None
        return desc if desc.task_queue == self.cw.settings.task_queue else None

    async def explain(self, case_id: str) -> Explanation:
        row = self.cw.ledger.case(case_id)
        desc = await self._describe(case_id)
        if row is None and desc is None:
            raise NotFound(f"no case, appeal, escalation, job or review {case_id!r}")
        raw = desc.raw_description if desc else None
        pending = [await self._pending(a) for a in raw.pending_activities] if raw else []
        task = raw.pending_workflow_task.attempt if raw and raw.HasField(
            "pending_workflow_task") else 0
        now = datetime.now(UTC)
        found = stuck_in_ledger(row, now, self.cw.pack().ops) if row else []
        if row and desc:
            found += await self._from_description(row, desc,
                                                  self.cw.pack().ops.retry_attempts)
            if task > 1 and not any(s.kind is StuckKind.TASK_FAILING for s in found):
                found.append(stuck(row, StuckKind.TASK_FAILING,
                                   f"its workflow task failed {task - 1} time(s)"))
        return Explanation(
            case_id=case_id, lifecycle=row.lifecycle if row else "?",
            state=row.state if row else "?", since=row.state_since if row else None,
            status=desc.status.name.lower() if desc and desc.status else "unknown",
            waiting_on=row.waiting_on if row else None, pending_activities=pending,
            task_attempt=task, recent=self.cw.ledger.audit(case_id)[-8:], stuck=found)


    async def _pending(self, a: Any) -> PendingActivity:
        """A pending activity, its last error decrypted (failures are encoded at rest)."""
        error = ""
        if a.HasField("last_failure"):
            decoded = await self.cw.temporal.data_converter.decode_failure(a.last_failure)
            error = " ".join(str(decoded.cause or decoded).split())
        return PendingActivity(activity=a.activity_type.name, attempt=a.attempt,
                               state=PendingActivityState.Name(a.state).removeprefix(
                                   "PENDING_ACTIVITY_STATE_").lower(), last_failure=error)

    async def _from_description(self, row: QueueEntry, desc: WorkflowExecutionDescription,
                                attempts: int) -> list[Stuck]:
        out = []
        for a in [await self._pending(p) for p in desc.raw_description.pending_activities]:
            if a.attempt >= attempts or (row.waiting_on and a.attempt > 1):
                kind = (StuckKind.JOB_STALLED if a.activity == "act_on_batch"
                        else StuckKind.ACTIVITY_RETRYING)
                out.append(stuck(row, kind, f"{a.activity} attempt {a.attempt}: "
                                            f"{a.last_failure or a.state}"))
        live = desc.typed_search_attributes.get(search_attributes.STATE)
        if live and live != row.state and (live := await self._live_state(row, live)) != row.state:
            out.append(stuck(row, StuckKind.LEDGER_LAG,
                             f"the ledger says {row.state}, the workflow {live}"))
        return out

    async def _live_state(self, row: QueueEntry, seen: str) -> str:
        """The record's state from its workflow: its search attributes may rest a step behind
        the ledger (a review case on the lean path upserts where it rests, not at each step the
        engine takes by itself); `seen` when the workflow cannot answer."""
        try:
            summary = await self.cw.temporal.get_workflow_handle(row.case_id).query(
                "row", result_type=CaseSummary, rpc_timeout=self.cw.read_timeout)
        except Exception:  # a failing task or a closed run: what visibility says stands
            return seen
        return str(summary.state)

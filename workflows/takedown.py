"""TakedownWorkflow: one action on many subjects, in paced batches, each at most once.

The items wait in the ledger; each batch is one heartbeating activity that acts on the next
items at the pack's rate and counts what it did from the ledger. Between batches the job obeys
pause, resume and cancel (so each takes effect within one batch), reports its progress, and
continues as new well before its history nears 10,000 events. A big job waits for a senior who
is not the requester; an authority's order does not. At the end each seller gets one notice
for the job and an authority its report; a finished job can be reversed as a whole.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import FailureError

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from activities.takedown import TakedownActivities
    from domain.authority import JOB_STARTERS, why_not_command, why_not_fresh
    from domain.core import Actor, Event, Priority
    from domain.engine import Lifecycle
    from domain.shop_review.models import EnforcementDone
    from domain.sla import deadline
    from domain.takedown.commands import TAKEDOWN_COMMANDS as COMMANDS
    from domain.takedown.lifecycle import FINISHED, TAKEDOWN, JobStage
    from domain.takedown.models import (
        ApproveJob,
        BatchRequest,
        BatchResult,
        JobCommand,
        JobNotice,
        JobPlan,
        JobSummary,
        Progress,
        TakedownInput,
        TakedownNote,
        TakedownState,
        job_summary,
    )
    from workflows.parts.commands import command
    from workflows.parts.journal import Journal
    from workflows.parts.loop import run_states
    from workflows.parts.options import ACT, ENFORCE, LONG
    from workflows.parts.other_updates import OtherUpdates
    from workflows.parts.outbound import Outbound
    from workflows.parts.queueing import Queueing
    from workflows.parts.reads import Reads
    from workflows.parts.repairs import Repairs
    from workflows.parts.trust import carried, refuse_unsealed_start

STEERED = {"pause": Event.PAUSED, "resume": Event.RESUMED, "cancel": Event.CANCELLED,
           "reverse": Event.REVERSING}
MAX_EVENTS = 5_000  # continue as new past this: no run's history nears 10,000 events


@workflow.defn
class TakedownWorkflow(Reads, Repairs, OtherUpdates):
    RENAMED = {"approve": ("approve_job", ApproveJob), "pause": ("pause_job", JobCommand),
               "resume": ("resume_job", JobCommand), "cancel": ("cancel_job", JobCommand),
               "reverse": ("reverse_job", JobCommand)}

    @workflow.init
    def __init__(self, inp: TakedownInput) -> None:
        info = workflow.info()
        carry = carried(inp.carried)
        self.job = carry or TakedownState(
            case_id=info.workflow_id, case_uid=info.first_execution_run_id,
            subject=inp.subject, state=TAKEDOWN.initial, opened_at=workflow.now(),
            request=inp.request, progress=Progress(total=inp.request.items))
        self.lc = Lifecycle(TAKEDOWN, self.job)
        self.journal = Journal(self.job, CaseActivities.record_case, _details)
        self.out = Outbound(self.journal, CaseActivities.notify)
        self.queueing = Queueing(self.job, self.lc, self.journal, self.out)
        if carry is None:
            req = inp.request
            source = f"order {req.order.reference} of {req.order.authority}" if req.order else (
                "bulk")
            self.journal.event(req.requester, Event.OPENED,
                               f"{source}: {req.action.value} on {req.items} subject(s): "
                               f"{req.reason}")

    @workflow.run
    async def run(self, inp: TakedownInput) -> JobSummary:
        refuse_unsealed_start(inp)
        await run_states(self, self.job, final=TAKEDOWN.final, waiting=TAKEDOWN.waiting,
                         settled=self._settled, max_events=MAX_EVENTS,
                         carry=lambda job: TakedownInput(job_id=job.case_id, subject=job.subject,
                                                         request=job.request, carried=job))
        await self._settled()
        return job_summary(self.job)

    # -- queries -------------------------------------------------------------------------------
    @workflow.query
    def progress(self) -> JobSummary:
        return job_summary(self.job)

    @workflow.query
    def snapshot(self) -> TakedownState:
        return self.job

    # -- updates -------------------------------------------------------------------------------
    @command(COMMANDS["approve"])
    async def approve_job(self, req: ApproveJob) -> JobSummary:
        self.lc.fire("approve", req)
        self.job.approved_by, self.job.sla_deadline = req.approver, None
        self.journal.event(req.approver, Event.APPROVED, f"{self.job.request.items} item(s)")
        await self.journal.commit()
        return job_summary(self.job)

    async def _steer(self, trigger: str, req: JobCommand) -> JobSummary:
        self.lc.fire(trigger, req)
        self.journal.event(req.requester, STEERED[trigger],
                           f"at item {self.job.position} of {self.job.request.items}")
        await self.journal.commit()
        return job_summary(self.job)

    @command(COMMANDS["pause"])
    async def pause_job(self, req: JobCommand) -> JobSummary:
        """New actions stop once the batch in flight is done."""
        return await self._steer("pause", req)

    @command(COMMANDS["resume"])
    async def resume_job(self, req: JobCommand) -> JobSummary:
        return await self._steer("resume", req)

    @command(COMMANDS["cancel"])
    async def cancel_job(self, req: JobCommand) -> JobSummary:
        """Done items stay done; the rest are left untouched."""
        return await self._steer("cancel", req)

    @command(COMMANDS["reverse"])
    async def reverse_job(self, req: JobCommand) -> JobSummary:
        """Undo every item the job acted on (once each)."""
        self.job.position = 0
        return await self._steer("reverse", req)

    # -- states --------------------------------------------------------------------------------
    async def _in_planned(self) -> None:
        job, req = self.job, self.job.request
        if workflow.patched("four-eyes-jobs"):
            if refusal := self._refusal():
                return await self._refuse(refusal)
            job.settings = await self.out.call(
                "the pack", TakedownActivities.job_settings,
                JobPlan(job_id=job.case_id, requester=req.requester, policy_ids=req.policy_ids),
                ACT)
        else:
            job.settings = await self.out.call("the pack", TakedownActivities.takedown_settings,
                                               req.policy_ids, ACT)
        job.queue_lead = job.settings.queue_lead
        job.dependency_alert_minutes = job.settings.dependency_alert_minutes
        if self.lc.advance("await_approval", "start") == "await_approval":
            reason = self.lc.model.approval_reason()
            assert reason is not None
            job.approval = reason
            job.sla_hours = {p: job.settings.approval_sla_hours for p in Priority}
            job.sla_deadline = deadline(workflow.now(), job.settings.approval_sla_hours)
            self.journal.event(Actor.INTAKE, Event.AWAITING_APPROVAL,
                               f"{reason}: a second person approves by "
                               f"{job.sla_deadline:%Y-%m-%dT%H:%MZ}")
        else:
            self.journal.event(Actor.INTAKE, Event.EXECUTING, _plan(job))
        await self.journal.commit()

    def _refusal(self) -> str | None:
        """Why the job must not act at all: its request did not come sealed from casework, or
        from a person who may start bulk work (a shop review's decision is casework's own)."""
        req = self.job.request
        if reason := why_not_fresh(req.issued_at, workflow.info().workflow_start_time):
            return reason
        if req.shop_review_id is not None:
            return None if req.sealed else "the request was not sealed by casework"
        return why_not_command(req, JOB_STARTERS, None, self.job.case_id)

    async def _refuse(self, reason: str) -> None:
        job = self.job
        self.lc.fire("refuse")
        job.refusal, job.closed_at = reason, workflow.now()
        self.journal.event(Actor.INTAKE, Event.REFUSED, reason)
        await self.journal.commit()

    async def _in_pending_approval(self) -> None:
        await self.queueing.wait()

    async def _in_executing(self) -> None:
        """One batch, then back to the loop (which may continue as new)."""
        job = self.job
        job.started_at = job.started_at or workflow.now()
        before = job.position
        result = await self._batch(reverse=False)
        if job.state != JobStage.REVERSING:  # a reverse sent during the batch starts from the top
            job.position = result.last_seq
        elapsed = (workflow.now() - job.started_at).total_seconds()
        p = job.progress
        p.done, p.failed, p.skipped = (p.done + result.done, p.failed + result.failed,
                                       p.skipped + result.skipped)
        p.rate_per_s = round((p.done + p.failed + p.skipped) / elapsed, 2) if elapsed else 0.0
        p.eta_s = round(p.remaining / p.rate_per_s, 1) if p.rate_per_s else None
        await self.out.call("the review cases", TakedownActivities.record_on_cases,
                            TakedownNote(job_id=job.case_id, action=job.request.action,
                                         reason=job.request.reason,
                                         after_seq=before, until_seq=result.last_seq), LONG)
        if result.exhausted and job.state == JobStage.EXECUTING:
            self.lc.fire("finish")
            job.finished_at = workflow.now()
            self.journal.event(Actor.ENFORCER, Event(job.state), _counts(p))
        await self.journal.commit()

    async def _batch(self, reverse: bool) -> BatchResult:
        job, req = self.job, self.job.request
        # A batch lasts a minute at most at the job's rate (well inside its timeouts).
        size = min(job.settings.batch_size, max(1, int(job.settings.rate_per_s * 60)))
        batch = BatchRequest(
            job_id=job.case_id, job_uid=job.case_uid, after_seq=job.position, size=size,
            action=req.action, reverse=reverse, reason=req.reason,
            rate_per_s=job.settings.rate_per_s, requester=req.requester,
            policy_ids=req.policy_ids, citations=job.settings.citations,
            pack_version=job.settings.pack_version, order=req.order)
        # The batch heartbeats before each marketplace call (each bounded by its timeout): a
        # batch on a dead worker is retried within ENFORCE's heartbeat timeout.
        opts = {**ENFORCE, "start_to_close_timeout": timedelta(
            seconds=max(120, 4 * size / job.settings.rate_per_s))}
        job.in_flight = True
        try:
            return await self.out.call("the marketplace", TakedownActivities.act_on_batch,
                                       batch, opts)
        finally:
            job.in_flight = False

    async def _in_paused(self) -> None:
        await self.journal.quiet_until(None)

    async def _in_completed(self) -> None:
        """Sellers told (one notice each), an authority its report; then reversible for the
        pack's days, and closed."""
        job = self.job
        notice = JobNotice(job_id=job.case_id, job_uid=job.case_uid, action=job.request.action,
                           reason=job.request.reason, order=job.request.order)
        if not job.sellers_notified:
            sellers = await self.out.call("the outbox", TakedownActivities.notify_sellers,
                                          notice, LONG)
            job.sellers_notified = True
            self.journal.event(Actor.NOTIFIER, Event.SELLER_NOTIFIED, f"{sellers} seller(s)")
            await self.journal.commit()
        if job.request.order and not job.reported:
            items = await self.out.call("the outbox", TakedownActivities.report_to_authority,
                                        notice, LONG)
            job.reported = True
            self.journal.event(Actor.NOTIFIER, Event.REPORTED,
                               f"{items} item(s) to {job.request.order.authority}")
            await self.journal.commit()
        if job.request.shop_review_id and not job.review_told:
            await self._tell_review(job.request.shop_review_id)
        if job.state not in FINISHED:
            return  # reversed while its sellers were being told: the loop moves on
        until = (job.finished_at or workflow.now()) + timedelta(
            days=job.settings.reversible_days)
        if await self.journal.quiet_until(until):
            self.lc.fire("close")
            self.journal.event(Actor.SLA_CLOCK, Event.CLOSED, "no longer reversible")
            await self.journal.commit()

    async def _tell_review(self, review_id: str) -> None:
        """The shop review whose decision this job carries out hears how it went."""
        job, p = self.job, self.job.progress
        with contextlib.suppress(FailureError):  # the review has ended: nothing to tell
            await workflow.get_external_workflow_handle(review_id).signal(
                "enforcement_finished", EnforcementDone(job_id=job.case_id, state=job.state,
                                                        done=p.done, failed=p.failed,
                                                        skipped=p.skipped))
        job.review_told = True

    async def _in_cancelled(self) -> None:
        self.job.finished_at = self.job.finished_at or workflow.now()
        await self._in_completed()

    _in_partially_failed = _in_completed

    async def _in_reversing(self) -> None:
        job = self.job
        before = job.position
        result = await self._batch(reverse=True)
        job.position = result.last_seq
        job.progress.reversed += result.reversed
        job.progress.reversal_failed += result.reversal_failed
        if workflow.patched("reversal-recorded-on-cases"):
            await self.out.call("the review cases", TakedownActivities.record_on_cases,
                                TakedownNote(job_id=job.case_id, action=job.request.action,
                                             reason=job.request.reason, after_seq=before,
                                             until_seq=result.last_seq, reversed=True), LONG)
        if result.exhausted:
            self.lc.fire("finish_reversal")
            failed = job.progress.reversal_failed
            self.journal.event(Actor.ENFORCER, Event.REVERSED,
                               f"{job.progress.reversed} item(s) reversed"
                               + (f", {failed} the marketplace would not undo" if failed
                                  else ""))
        await self.journal.commit()

    async def _in_reversed(self) -> None:
        if self.job.request.shop_review_id and not self.job.review_told:
            await self._tell_review(self.job.request.shop_review_id)
        self.lc.fire("close")
        self.journal.event(Actor.SLA_CLOCK, Event.CLOSED)
        await self.journal.commit()


def _plan(job: TakedownState) -> str:
    s = job.settings
    return (f"{job.request.items} item(s) in batches of {s.batch_size} at {s.rate_per_s}/s")


def _counts(p: Progress) -> str:
    return f"done {p.done}, failed {p.failed}, skipped {p.skipped} of {p.total}"


def _details(job: TakedownState) -> str:
    p = job.progress
    line = (f"**{job.state}** · {job.request.action.value} on {p.total} · {_counts(p)}"
            f" · {p.rate_per_s}/s")
    if job.waiting_on:
        line += f"\n\nwaiting on {job.waiting_on}"
    return line

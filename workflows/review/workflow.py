"""ReviewWorkflow: one case, from intake to closure, driven by the review lifecycle.

The run loop dispatches on the case's state (`_in_<state>`), so a case continued as new resumes
from whatever state it carried. Reviewer commands are Updates whose validators ask the lifecycle
(a refused command writes nothing to history); each handler changes state before its first
`await`, so two commands in one workflow task see each other's effect.

Once an action has landed, its statement of reasons, the seller's notice and the appeal window
always follow: a dependency that fails keeps being retried (its lead is told when it fails for
long), and a step that needs a person parks the case in `needs_attention` until ops retry it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from domain.appeal.lifecycle import APPEAL
    from domain.appeal.models import (
        AppealRef,
        AppealRequest,
        AppealState,
        Filing,
        appeal_id_for,
        appellant_for,
    )
    from domain.authority import ClaimRequest
    from domain.core import (
        Action,
        Actor,
        CaseSummary,
        Decision,
        EnforcementResult,
        Event,
        Source,
    )
    from domain.engine import Lifecycle
    from domain.errors import Refused
    from domain.messages import (
        MessageKind,
        describe_decision,
    )
    from domain.people import Role
    from domain.policy import reprioritise
    from domain.review.commands import REVIEW_COMMANDS as COMMANDS
    from domain.review.lifecycle import REVIEW
    from domain.review.models import (
        ApproveRequest,
        CaseInput,
        CaseNoteRequest,
        CaseRef,
        CaseState,
        DecideRequest,
        Hold,
        HoldRequest,
        RejectRequest,
        ReleaseRequest,
        RetryRequest,
        ScreenRequest,
    )
    from domain.sla import deadline
    from domain.takedown.models import TakedownNote
    from workflows.appeal import AppealWorkflow
    from workflows.parts.commands import allowed, command
    from workflows.parts.journal import Journal
    from workflows.parts.loop import run_states
    from workflows.parts.options import ACT
    from workflows.parts.other_updates import OtherUpdates
    from workflows.parts.outbound import Outbound
    from workflows.parts.queueing import Queueing
    from workflows.parts.reads import Reads
    from workflows.parts.repairs import ReviewRepairs
    from workflows.parts.trust import (
        carried,
        refuse_unsealed_start,
        require_sealed,
        sealed_signal,
    )
    from workflows.review.calibration import ReviewCalibration
    from workflows.review.chain import RestrictionChain
    from workflows.review.escalation import ReviewEscalation
    from workflows.review.intake import ReviewIntake, reporter_actor
    from workflows.review.qa import QaDraw

LEASE = timedelta(minutes=30)  # a resumed case's claim
MAX_SENT_BACK = 10  # decisions sent back, kept (the timeline has them all)


@workflow.defn
class ReviewWorkflow(Reads, ReviewIntake, ReviewEscalation, RestrictionChain, ReviewRepairs,
                     QaDraw, ReviewCalibration, OtherUpdates):
    @workflow.init
    def __init__(self, inp: CaseInput) -> None:
        carry = carried(inp.carried)
        self._opener_filed = carry is not None
        info = workflow.info()
        self.case = carry or CaseState(
            case_id=info.workflow_id, case_uid=info.first_execution_run_id,
            subject=inp.subject, state=REVIEW.initial, reports=[inp.report],
            opened_at=workflow.now(), followup_of=inp.followup_of,
            generation=inp.generation, in_force=inp.in_force,
        )
        self.lc = Lifecycle(REVIEW, self.case)
        self.journal = Journal(self.case, CaseActivities.record_case, _details,
                               waiting=REVIEW.waiting, working=REVIEW.working)
        # Runs from here on take every patch listed before this one as given (no marker each).
        self.journal.lean = workflow.patched("lean-case-path")
        self.out = Outbound(self.journal, CaseActivities.notify)
        # a calibration case's key: kept apart from its state until the case is decided
        self._calibration = inp.calibration
        if inp.calibration:
            self.case.hold_for(inp.calibration.reviewer)
        self.queueing = Queueing(self.case, self.lc, self.journal, self.out,
                                 on_breach=self._breached, quiet=inp.calibration is not None)
        if carry is None:
            follows = f"; follow-up of {inp.followup_of}" if inp.followup_of else ""
            self.journal.event(reporter_actor(inp.report), Event.OPENED,
                               f"{inp.report.source.value} report {inp.report.report_id}{follows}")
        self._forwarded: dict[str, CaseRef] = {}
        self._appeal: workflow.ChildWorkflowHandle[Any, AppealState] | None = None

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        refuse_unsealed_start(inp)
        # Intake's search attributes come with the start request (and carry over a continue-as-
        # new); the ledger row waits for screening. Runs started before this wrote both here.
        if not (self.journal.lean or workflow.patched("intake-attributes-set-at-start")):
            await self.journal.commit()
        self._forwarder = asyncio.create_task(self._hand_over_late_reports())
        await run_states(self, self.case, final=REVIEW.final, waiting=REVIEW.waiting,
                         settled=self._settled,
                         carry=lambda case: CaseInput(subject=case.subject,
                                                      report=case.reports[0], carried=case,
                                                      calibration=self._calibration))
        await self._settled()
        return self.case

    async def _settled(self) -> None:
        """Wait until no handler, staff message or late report hand-over is in flight; the
        run may then end or continue as new."""
        await workflow.wait_condition(lambda: workflow.all_handlers_finished()
                                      and not self.case.forwarding and self.out.idle()
                                      and self.journal.idle())
        self._forwarder.cancel()
        self.journal.stop()

    # -- queries -------------------------------------------------------------------------------
    @workflow.query
    def snapshot(self) -> CaseState:
        return self.case

    # -- updates -------------------------------------------------------------------------------
    @workflow.update
    async def claim(self, req: ClaimRequest) -> CaseSummary:
        self.queueing.claim(req)
        await self.journal.commit()
        return self.case.summary()

    @claim.validator
    def _check_claim(self, req: ClaimRequest) -> None:
        self._allowed("claim", req, Role.REVIEWER)

    @command(COMMANDS["hold"])
    async def hold(self, req: HoldRequest) -> CaseSummary:
        """Wait for information: the SLA clock stops with the time it has left."""
        self.lc.fire("hold", req)
        case, now = self.case, workflow.now()
        left = max((case.sla_deadline - now).total_seconds(), 0) if case.sla_deadline else 0
        case.hold = Hold(by=req.reviewer, reason=req.reason, since=now, sla_left_s=left)
        case.sla_deadline, case.lease_expires_at = None, None
        self.journal.event(req.reviewer, Event.HELD,
                           f"{req.reason}; SLA paused with {timedelta(seconds=round(left))} left")
        await self.journal.commit()
        return case.summary()

    @command(COMMANDS["note"])
    async def note(self, req: CaseNoteRequest) -> CaseSummary:
        """A note for the team on the timeline (its mentions are read from it)."""
        self.lc.fire("note", req)
        self.journal.event(req.reviewer, Event.NOTE_ADDED, req.text)
        await self.journal.commit()
        return self.case.summary()

    @command(COMMANDS["release"])
    async def release(self, req: ReleaseRequest) -> CaseSummary:
        """The holder gives the case back: it waits in its queue again, its SLA running on."""
        self.lc.fire("release", req)
        self.case.assignee = self.case.lease_expires_at = None
        self.journal.event(req.reviewer, Event.RELEASED, req.reason)
        await self.journal.commit()
        return self.case.summary()

    @command(COMMANDS["resume"])
    async def resume(self, req: HoldRequest) -> CaseSummary:
        """Back to work: the SLA runs on with the time it had left, under a fresh lease."""
        self.lc.fire("resume", req)
        case, now = self.case, workflow.now()
        assert case.hold is not None
        case.sla_deadline = now + timedelta(seconds=case.hold.sla_left_s)
        case.lease_expires_at = now + LEASE
        self.journal.event(req.reviewer, Event.RESUMED,
                           f"held {now - case.hold.since}; SLA {case.sla_deadline:%Y-%m-%dT%H:%MZ}")
        case.hold = None
        await self.journal.commit()
        return case.summary()

    @command(COMMANDS["approve"])
    async def approve(self, req: ApproveRequest) -> CaseSummary:
        """A second person lets a severe decision execute."""
        self.lc.fire("approve", req)
        self.case.approved_by, self.case.sla_deadline = req.approver, None
        assert self.case.decision is not None
        self.journal.event(req.approver, Event.APPROVED, describe_decision(self.case.decision))
        await self.journal.commit()
        return self.case.summary()

    @command(COMMANDS["reject"])
    async def reject(self, req: RejectRequest) -> CaseSummary:
        """A second person sends the decision back: the case waits in its queue again, under a
        fresh SLA, to be decided anew (the returned decision is kept)."""
        self.lc.fire("reject", req)
        case = self.case
        assert case.decision is not None
        case.sent_back = [*case.sent_back, case.decision][-MAX_SENT_BACK:]
        case.decision, case.approval_required, case.assignee = None, False, None
        case.sla_deadline = deadline(workflow.now(), case.sla_hours[case.priority])
        self.journal.event(req.approver, Event.SENT_BACK,
                           f"{describe_decision(case.sent_back[-1])} sent back: {req.reason}")
        await self.journal.commit()
        return case.summary()

    @workflow.update
    async def file_appeal(self, req: AppealRequest) -> AppealRef:
        """A complaint against the decision (DSA Art. 20): the appeal runs as a child, and the
        case closes once it has been decided and carried out."""
        filing = self._filing(req)
        self.lc.fire("appeal", filing)
        case = self.case
        appeal_id = appeal_id_for(case.case_uid)
        case.appeal = AppealRef(appeal_id=appeal_id, state=APPEAL.initial, review_case_id=case.case_id,
                                appellant=filing.appellant)
        self._appeal = await workflow.start_child_workflow(
            AppealWorkflow.run, case.appeal_input(filing.appellant, req.text), id=appeal_id,
            parent_close_policy=ParentClosePolicy.ABANDON,
            static_summary=f"appeal against {case.case_id}'s decision on {case.subject}")
        self.journal.event(filing.appellant.id, Event.APPEALED,
                           f"{filing.appellant.kind.value} appeals: appeal {appeal_id}")
        await self.journal.commit()
        return case.appeal

    @file_appeal.validator
    def _check_appeal(self, req: AppealRequest) -> None:
        require_sealed(req)
        if req.case_uid != self.case.case_uid:
            raise Refused("the appeal was filed against another case (or an earlier one "
                          "under this id)")
        self.lc.check("appeal", self._filing(req))

    def _filing(self, req: AppealRequest) -> Filing:
        case = self.case
        seller = case.facts.seller_id if case.facts else None
        return Filing(appellant=appellant_for(req.appellant, seller, case.reporters()),
                      at=workflow.now())

    @workflow.signal
    async def record_takedown(self, note: TakedownNote) -> None:
        """A takedown job acted on this case's subject: recorded, and in force (so a decision
        here does not apply it a second time)."""
        assert note.subject is not None
        if not sealed_signal(note) or note.subject != self.case.subject:
            return  # (a note copied from another case's history is not this case's)
        by_job = f"takedown job {note.job_id}"
        mine = [e for e in self.case.in_force if e.detail == by_job and e.action is note.action]
        if note.reversed:  # the job undid it: no longer in force
            if note.job_id not in self.case.jobs_reversed:
                self.case.jobs_reversed.append(note.job_id)
            if not mine:
                return
            self.case.in_force = [e for e in self.case.in_force if e not in mine]
            self.journal.event(Actor.ENFORCER, Event.TAKEDOWN_RECORDED,
                               f"{note.action.value} reversed by takedown job {note.job_id}")
        else:
            if mine or note.job_id in self.case.jobs_reversed:
                return  # told again (a retried activity, or a copy after the job undid it)
            self.case.in_force.append(EnforcementResult(
                action=note.action, target=note.subject, applied=True, detail=by_job,
                applied_at=workflow.now()))
            self.journal.event(Actor.ENFORCER, Event.TAKEDOWN_RECORDED,
                               f"{note.action.value} by takedown job {note.job_id}: "
                               f"{note.reason}")
        await self.journal.commit()

    @command(COMMANDS["decide"])
    async def decide(self, req: DecideRequest) -> CaseSummary:
        self._decide(req)
        await self.journal.commit()
        return self.case.summary()

    def _decide(self, req: DecideRequest) -> None:
        self.lc.fire("decide", req)
        self.case.decision = self._decision(req.reviewer, req.policy_ids, req.actions,
                                            req.reason, automated=False)
        self.case.lease_expires_at = None
        if self._calibration:
            self.case.calibration = self._calibration.score(self.case.decision)
        self.journal.event(req.reviewer, Event.DECIDED, describe_decision(self.case.decision))

    @command(COMMANDS["retry"])
    async def retry(self, req: RetryRequest) -> CaseSummary:
        """Resume a case parked in `needs_attention` once its cause is repaired."""
        self.lc.fire("retry", req)
        was = self.case.attention.reason if self.case.attention else ""
        self.case.attention, self.case.waiting_on = None, None
        self.case.repin = self.case.repin or req.repin
        repinned = "; reasons to be stated from the current pack" if req.repin else ""
        self.journal.event(req.operator, Event.RETRIED, f"{req.reason} (it waited for: {was}){repinned}")
        await self.journal.commit()
        return self.case.summary()

    def _allowed(self, trigger: str, req: Any, roles: Role | frozenset[Role]) -> None:
        """A command not in the table (a claim, an escalation): the same rule."""
        allowed(self.lc, trigger, req, roles, self.case.queue)

    def _decision(self, by: str, policy_ids: list[str], actions: list[Action], reason: str,
                  automated: bool) -> Decision:
        """The decision pins what it cites, as the pack said at screening."""
        refs = {p.id: p for p in self.case.policies}
        if any(a.severe for a in actions) and (self.journal.lean or workflow.patched(
                "severe-actions-need-approval")):
            self.case.approval_required = True
        return Decision(decided_by=by, policy_ids=policy_ids, actions=actions, reason=reason,
                        decided_at=workflow.now(), automated=automated,
                        citations=[refs[p] for p in policy_ids if p in refs],
                        pack_version=self.case.pack_version)

    # -- states --------------------------------------------------------------------------------
    async def _in_screening(self) -> None:
        case = self.case
        screened = len(case.reports)
        cal = self._calibration
        s = await self.out.call("the marketplace", CaseActivities.screen_case,
                                ScreenRequest(subject=case.subject,
                                              reports=case.reports[:screened],
                                              facts=cal.facts if cal else None,
                                              queue=cal.queue if cal else None), ACT)
        case.hits, case.policies, case.pack_version = s.hits, s.policies, s.pack_version
        case.queue, case.priority, case.queue_lead, case.sla_hours = (
            s.queue, s.priority, s.queue_lead, s.sla_hours)
        case.facts, case.source_floors = s.facts, s.source_floors
        case.dependency_alert_minutes = s.dependency_alert_minutes
        case.approval_sla_hours, case.max_hold_hours = s.approval_sla_hours, s.max_hold_hours
        case.qa = s.qa
        found = "" if s.subject_found else (
            f"; {s.facts_missing or 'the marketplace does not know this subject'}")
        self.journal.event(Actor.POLICY_ENGINE, Event.SCREENED,
                    f"{len(s.hits)} hit(s) {', '.join(sorted({h.policy_id for h in s.hits}))}"
                    f"{found}")
        if later := case.reports[screened:]:  # joined while screening ran
            case.priority = reprioritise(case.priority, later, case.source_floors,
                                         any(r.source is Source.TRUSTED_FLAGGER
                                             for r in case.reports[:screened]))
        if s.auto:
            case.decision = self._decision(Actor.POLICY_ENGINE, [s.auto.policy_id], s.auto.actions,
                                           s.auto.reason, automated=True)
            self.lc.fire("auto_action")
            self.journal.event(Actor.POLICY_ENGINE, Event.AUTO_ACTIONED, describe_decision(case.decision))
        else:
            self.lc.fire("enqueue")
            case.sla_deadline = deadline(case.opened_at, case.sla_hours[case.priority])
            self.journal.event(Actor.POLICY_ENGINE, Event.QUEUED, f"{case.queue} {case.priority.value}, "
                        f"SLA {case.sla_deadline:%Y-%m-%dT%H:%MZ}")
            if cal:  # given to its reviewer as their claim
                self.queueing.claim(ClaimRequest(reviewer=cal.reviewer, lease_minutes=cal.lease_minutes))
        await self.journal.commit()

    async def _in_auto_actioned(self) -> None:
        await self._carry_out()

    async def _in_decided(self) -> None:
        if score := self.case.calibration:
            await self._score(score)
        else:
            await self._carry_out()

    async def _carry_out(self) -> None:
        """A decision executes, waits for its second person first (severe actions), or has
        nothing to execute."""
        step = self.lc.advance("seek_approval", "enforce", "notify")
        if step == "seek_approval":
            await self._seek_approval()
        else:
            self._moved(step)
            await self.journal.commit()

    async def _seek_approval(self) -> None:
        case = self.case
        assert case.decision is not None
        case.sla_deadline = deadline(workflow.now(), case.approval_sla_hours)
        self.journal.event(Actor.ENFORCER, Event.AWAITING_APPROVAL,
                           f"{describe_decision(case.decision)}; a second person approves by "
                           f"{case.sla_deadline:%Y-%m-%dT%H:%MZ}")
        await self.journal.commit()
        await self.out.tell_staff(
            f"approval-{case.revision}", case.queue_lead, MessageKind.APPROVAL_NEEDED,
            f"Case {case.case_id}: {describe_decision(case.decision)} waits for a second person: "
            f"casework case approve {case.case_id} (a senior who took no part)")

    async def _in_on_hold(self) -> None:
        """Held: the lead hears of a hold that lasts longer than the pack allows."""
        hold = self.case.hold
        assert hold is not None
        until = None if hold.lead_told else hold.since + timedelta(hours=self.case.max_hold_hours)
        if not await self.journal.quiet_until(until):
            return
        hold.lead_told = True
        detail = f"held by {hold.by} since {hold.since:%Y-%m-%dT%H:%MZ}: {hold.reason}"
        self.journal.event(Actor.SLA_CLOCK, Event.HELD_TOO_LONG, detail)
        await self.journal.commit()
        if self._calibration:  # nobody hears of a calibration case
            return
        await self.out.tell_staff(f"held-{self.case.revision}", self.case.queue_lead,
                                  MessageKind.HELD_TOO_LONG,
                                  f"Case {self.case.case_id} is on hold too long: {detail}")

    def _moved(self, trigger: str) -> None:
        """A step of the chain the case took by itself: the timeline (and so the ledger,
        which moves by revision) shows the state it reached."""
        self.journal.event(Actor.ENFORCER if trigger == "enforce" else Actor.NOTIFIER,
                           Event(self.lc.state))

    async def _in_appealed(self) -> None:
        """Wait for the appeal to be decided and carried out, record it, close."""
        assert self._appeal is not None
        appeal = await self._appeal
        case = self.case
        verdict = appeal.verdict
        assert verdict is not None and case.appeal is not None
        case.appeal_outcome = verdict.outcome.value
        case.appeal.state = appeal.state
        effects = "".join(
            f"; {label}: {', '.join(e.action.value for e in done)}"
            for label, done in (("reversed", appeal.reversed), ("applied", appeal.applied))
            if done)
        self.journal.event(verdict.decided_by, Event.APPEAL_DECIDED,
                           f"appeal {appeal.case_id} {verdict.outcome.value}: {verdict.reason}"
                           f"{effects}")
        self.lc.fire("close")
        case.closed_at = workflow.now()
        self.journal.event(Actor.SLA_CLOCK, Event.CLOSED, "after the appeal")
        await self.journal.commit()

    async def _in_appealable(self) -> None:
        case = self.case
        assert case.appeal_deadline is not None
        if not await self.journal.quiet_until(case.appeal_deadline):
            return
        self.lc.fire("close")
        case.closed_at = workflow.now()
        self.journal.event(Actor.SLA_CLOCK, Event.CLOSED, "appeal window ended without an appeal")
        await self.journal.commit()

    async def _in_queued(self) -> None:
        if self._calibration:  # back in the queue: given back, it is nobody else's
            await self._withdraw()
        else:
            await self.queueing.wait()

    async def _in_in_review(self) -> None:
        await self.queueing.wait()

    _in_awaiting_approval = _in_in_review


def _details(case: CaseState) -> str:
    """What the Temporal UI shows for the case now."""
    line = f"**{case.state}** · {case.subject} · {case.queue} {case.priority.value}"
    if case.assignee:
        line += f" · claimed by {case.assignee}"
    if case.hold:
        line += f" · on hold: {case.hold.reason}"
    if case.sla_deadline and case.state in REVIEW.queued | REVIEW.held:
        line += f" · SLA {case.sla_deadline:%Y-%m-%d %H:%MZ}"
    if case.waiting_on:
        line += f"\n\nwaiting on {case.waiting_on}"
    return line

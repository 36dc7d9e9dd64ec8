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
from temporalio.exceptions import ActivityError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from activities.escalation import EscalationActivities
    from activities.intake import IntakeActivities
    from activities.shop_review import ShopReviewActivities
    from domain.appeal.models import (
        AppealRef,
        AppealRequest,
        AppealState,
        Filing,
        appeal_id_for,
        appellant_for,
    )
    from domain.authority import APPROVERS, ClaimRequest
    from domain.core import (
        OPS,
        Action,
        Actor,
        ApplyRequest,
        Attention,
        CaseSummary,
        Decision,
        EnforcementResult,
        Event,
        HandBack,
        MessageKind,
        Notification,
        Report,
        Source,
        outcome_message_id,
        reporter_address,
        seller_of,
    )
    from domain.engine import Lifecycle
    from domain.escalation.models import (
        RESOLVE_ESCALATION,
        EscalationSource,
        EscalationSummary,
        OpenRequest,
    )
    from domain.people import Role
    from domain.policy import reprioritise
    from domain.review.lifecycle import JOINABLE, REVIEW
    from domain.review.models import (
        MAX_REPORTS_PER_CASE,
        ApproveRequest,
        CaseInput,
        CaseRef,
        CaseState,
        DecideRequest,
        EscalateRequest,
        ForwardRequest,
        Hold,
        HoldRequest,
        OverflowOutcome,
        OverflowReport,
        RetryRequest,
        ScreenRequest,
    )
    from domain.shop_review.models import Strike
    from domain.sla import appeal_deadline, deadline
    from domain.statement import puid_for
    from domain.takedown.models import TakedownNote
    from workflows.appeal import AppealWorkflow
    from workflows.parts.journal import Journal
    from workflows.parts.loop import run_states
    from workflows.parts.options import ACT, ENFORCE, LOCAL, LONG
    from workflows.parts.other_updates import OtherUpdates
    from workflows.parts.outbound import NeedsPerson, Outbound, why
    from workflows.parts.queueing import Queueing
    from workflows.parts.reads import Reads
    from workflows.parts.repairs import ReviewRepairs
    from workflows.parts.trust import (
        carried,
        require,
        require_sealed,
        sealed_signal,
        unsealed_start,
    )

WAITING = ("queued", "in_review", "on_hold", "escalated", "awaiting_approval", "appealable",
           "needs_attention")
LEASE = timedelta(minutes=30)  # a resumed case's claim
FORWARD_ANSWER_WITHIN = 0.8  # seconds a late report's answer waits for its follow-up


@workflow.defn
class ReviewWorkflow(Reads, ReviewRepairs, OtherUpdates):
    @workflow.init
    def __init__(self, inp: CaseInput) -> None:
        carry = carried(inp.carried)
        self._opener_filed = carry is not None
        info = workflow.info()
        self.case = carry or CaseState(
            case_id=info.workflow_id, case_uid=info.first_execution_run_id,
            subject=inp.subject, state="screening", reports=[inp.report],
            opened_at=workflow.now(), followup_of=inp.followup_of,
            generation=inp.generation, in_force=inp.in_force,
        )
        self.lc = Lifecycle(REVIEW, self.case)
        self.journal = Journal(self.case, CaseActivities.record_case, _details)
        self.out = Outbound(self.journal, CaseActivities.notify)
        self.queueing = Queueing(self.case, self.lc, self.journal, self.out,
                                 on_breach=self._breached)
        if carry is None:
            follows = f"; follow-up of {inp.followup_of}" if inp.followup_of else ""
            self.journal.event(_actor(inp.report), Event.OPENED,
                               f"{inp.report.source.value} report {inp.report.report_id}{follows}")
        self._forwarded: dict[str, CaseRef] = {}
        self._appeal: workflow.ChildWorkflowHandle[Any, AppealState] | None = None

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        if unsealed_start(inp):
            return self.case
        # Intake's search attributes come with the start request (and carry over a continue-as-
        # new); the ledger row waits for screening. Runs started before this wrote both here.
        if not workflow.patched("intake-attributes-set-at-start"):
            await self.journal.commit()
        self._forwarder = asyncio.create_task(self._hand_over_late_reports())
        await run_states(self, self.case, final={"closed"}, waiting=WAITING,
                         settled=self._settled,
                         carry=lambda case: CaseInput(subject=case.subject,
                                                      report=case.reports[0], carried=case))
        await self._settled()
        return self.case

    async def _settled(self) -> None:
        """Wait until no handler, staff message or late report hand-over is in flight; the
        run may then end or continue as new."""
        await workflow.wait_condition(lambda: workflow.all_handlers_finished()
                                      and not self.case.forwarding and self.out.idle())
        self._forwarder.cancel()

    # -- queries -------------------------------------------------------------------------------
    @workflow.query
    def snapshot(self) -> CaseState:
        return self.case

    # -- updates -------------------------------------------------------------------------------
    @workflow.update
    async def file_report(self, report: Report) -> CaseRef:
        """Join a report to this case while it is to be decided; later, hand it to a follow-up
        case so it is reviewed too. The same report (source, reporter, id) twice counts once."""
        case = self.case
        if report.key == case.reports[0].key and not self._opener_filed:
            # The opener learns where its case went: wait for screening to route it (the
            # client bounds this wait, so a slow marketplace never hangs intake).
            self._opener_filed = True
            await workflow.wait_condition(lambda: case.state != "screening")
            return self._ref("opened")
        if workflow.patched("report-identity-by-source-and-reporter"):
            seen = any(r.key == report.key for r in case.reports)
        else:  # runs from before: one source's id could swallow another's report
            seen = any(r.report_id == report.report_id for r in case.reports)
        if seen:
            return self._ref("duplicate")
        if case.state in JOINABLE:
            self.lc.fire("add_report")
            return await self._join(report)
        if workflow.patched("late-reports-open-follow-ups"):
            self.lc.fire("forward_report")
            return await self._forward(report)
        # Runs from before follow-ups: the report is kept on the decided case.
        case.reports.append(report)
        self.journal.event(_actor(report), Event.REPORT_JOINED,
                    f"{report.source.value} report {report.report_id}")
        await self.journal.commit()
        return self._ref("joined")

    @file_report.validator
    def _check_report(self, report: Report) -> None:
        require_sealed(report)
        self.lc.check("add_report" if self.case.state in JOINABLE else "forward_report")

    async def _join(self, report: Report) -> CaseRef:
        case = self.case
        trusted_before = any(r.source is Source.TRUSTED_FLAGGER for r in case.reports)
        if len(case.reports) >= MAX_REPORTS_PER_CASE and workflow.patched("reports-capped"):
            # Beyond the cap the report lives in the ledger (nothing is lost) and is counted.
            held = await self.out.call(
                "the ledger", CaseActivities.store_overflow_report,
                OverflowReport(case_uid=case.case_uid, case_id=case.case_id, report=report),
                ACT)
            if held <= case.reports_overflow:  # the ledger holds it already
                return self._ref("duplicate")
            case.reports_overflow = held
            self.journal.event(_actor(report), Event.REPORT_JOINED,
                        f"{report.source.value} report {report.report_id} (kept in the ledger: "
                        f"{case.reports_overflow} beyond the cap of {MAX_REPORTS_PER_CASE})")
        else:
            case.reports.append(report)
            self.journal.event(_actor(report), Event.REPORT_JOINED,
                        f"{report.source.value} report {report.report_id}")
        if workflow.patched("join-recomputes-priority"):
            if case.state != "screening":  # screening routes with every report it has
                self._reprioritise([report], trusted_before)
        elif (report.source is Source.TRUSTED_FLAGGER and not trusted_before
              and case.state in ("queued", "in_review")
              and workflow.patched("trusted-flagger-join-raises-priority")):
            self._raise_for_trusted_flagger()
        await self.journal.commit()
        return self._ref("joined")

    def _reprioritise(self, reports: list[Report], trusted_before: bool) -> None:
        """Source floors and trusted flaggers count on every join: the priority rises and the
        SLA shortens to what the new priority allows from now, never lengthens."""
        case = self.case
        new = reprioritise(case.priority, reports, case.source_floors, trusted_before)
        if new == case.priority:
            return
        before, case.priority = case.priority, new
        if case.sla_deadline is not None:
            case.sla_deadline = min(case.sla_deadline,
                                    deadline(workflow.now(), case.sla_hours[new]))
        sla = f", SLA {case.sla_deadline:%Y-%m-%dT%H:%MZ}" if case.sla_deadline else ""
        self.journal.event(Actor.INTAKE, Event.REPRIORITISED,
                    f"{', '.join(r.source.value for r in reports)} report joined: "
                    f"{before.value} -> {new.value}{sla}")

    def _raise_for_trusted_flagger(self) -> None:
        """Runs from before `join-recomputes-priority`: DSA Art. 22 raise, SLA from intake."""
        case = self.case
        before, case.priority = case.priority, case.priority.raised()
        assert case.sla_deadline is not None
        case.sla_deadline = min(case.sla_deadline,
                                deadline(case.opened_at, case.sla_hours[case.priority]))
        self.journal.event(Actor.INTAKE, Event.REPRIORITISED,
                    f"trusted flagger joined: {before.value} -> {case.priority.value}, "
                    f"SLA {case.sla_deadline:%Y-%m-%dT%H:%MZ}")

    def _followup_id(self) -> str:
        return f"{self.case.case_id.split('~')[0]}~{self.case.generation + 1}"

    async def _forward(self, report: Report) -> CaseRef:
        """A report about a subject whose case is decided goes to the follow-up case
        `<case>~<generation+1>`, where a person reviews it and its reporter hears back. It is
        kept here until handed over (in the background, retried), so the answer never waits
        on the follow-up for long and the case does not close with it undelivered."""
        case = self.case
        followup_id = self._followup_id()
        case.forwarding.append(report)
        self.journal.event(_actor(report), Event.REPORT_FORWARDED,
                    f"{report.source.value} report {report.report_id} came after the decision: "
                    f"follow-up case {followup_id}")
        await self.journal.commit()
        try:
            await workflow.wait_condition(lambda: report.key in self._forwarded,
                                          timeout=FORWARD_ANSWER_WITHIN)
        except TimeoutError:
            return CaseRef(case_id=followup_id, state="forwarding", queue=case.queue,
                           priority=case.priority, outcome="followup",
                           followup_of=case.case_id)
        return self._forwarded.pop(report.key)

    async def _hand_over_late_reports(self) -> None:
        case = self.case
        while True:
            await workflow.wait_condition(lambda: bool(case.forwarding))
            report, followup_id = case.forwarding[0], self._followup_id()
            try:
                ref = await self.out.call(
                    "the follow-up case", IntakeActivities.forward_report,
                    ForwardRequest(from_case_id=case.case_id, followup_id=followup_id,
                                   generation=case.generation + 1, subject=case.subject,
                                   report=report, task_queue=workflow.info().task_queue,
                                   in_force=[*case.in_force, *case.enforcement]), ACT)
            except ActivityError as e:  # the follow-up refused it for good: a person looks
                case.forwarding.pop(0)
                self.journal.event(Actor.INTAKE, Event.FORWARD_REFUSED,
                            f"report {report.report_id} for {followup_id}: {why(e)}")
                await self.journal.commit()
                await self.out.tell_staff(
                    f"forward-{report.key}", case.queue_lead or OPS, MessageKind.FORWARD_REFUSED,
                    f"Case {case.case_id}: a late report could not be handed to {followup_id}: "
                    f"{why(e)}")
                continue
            case.forwarding.pop(0)
            if followup_id not in case.followups:
                case.followups.append(followup_id)
            self._forwarded[report.key] = ref

    def _ref(self, outcome: str) -> CaseRef:
        c = self.case
        return CaseRef(case_id=c.case_id, state=c.state, queue=c.queue, priority=c.priority,
                       outcome=outcome, followup_of=c.followup_of)

    @workflow.update
    async def claim(self, req: ClaimRequest) -> CaseSummary:
        self.queueing.claim(req)
        await self.journal.commit()
        return self.case.summary()

    @claim.validator
    def _check_claim(self, req: ClaimRequest) -> None:
        self._allowed("claim", req, Role.REVIEWER)

    @workflow.update
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

    @hold.validator
    def _check_hold(self, req: HoldRequest) -> None:
        self._allowed("hold", req, Role.REVIEWER)

    @workflow.update
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

    @resume.validator
    def _check_resume(self, req: HoldRequest) -> None:
        self._allowed("resume", req, Role.REVIEWER)

    @workflow.update
    async def approve(self, req: ApproveRequest) -> CaseSummary:
        """A second person lets a severe decision execute."""
        self.lc.fire("approve", req)
        self.case.approved_by, self.case.sla_deadline = req.approver, None
        assert self.case.decision is not None
        self.journal.event(req.approver, Event.APPROVED, _describe(self.case.decision))
        await self.journal.commit()
        return self.case.summary()

    @approve.validator
    def _check_approve(self, req: ApproveRequest) -> None:
        self._allowed("approve", req, APPROVERS)

    @workflow.update
    async def file_appeal(self, req: AppealRequest) -> AppealRef:
        """A complaint against the decision (DSA Art. 20): the appeal runs as a child, and the
        case closes once it has been decided and carried out."""
        filing = self._filing(req)
        self.lc.fire("appeal", filing)
        case = self.case
        appeal_id = appeal_id_for(case.case_uid)
        case.appeal = AppealRef(appeal_id=appeal_id, state="filed", review_case_id=case.case_id,
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
            if not mine:
                return
            self.case.in_force = [e for e in self.case.in_force if e not in mine]
            self.journal.event(Actor.ENFORCER, Event.TAKEDOWN_RECORDED,
                               f"{note.action.value} reversed by takedown job {note.job_id}")
        else:
            if mine:
                return  # told again (a retried activity)
            self.case.in_force.append(EnforcementResult(
                action=note.action, target=note.subject, applied=True, detail=by_job,
                applied_at=workflow.now()))
            self.journal.event(Actor.ENFORCER, Event.TAKEDOWN_RECORDED,
                               f"{note.action.value} by takedown job {note.job_id}: "
                               f"{note.reason}")
        await self.journal.commit()

    @workflow.update
    async def escalate(self, req: EscalateRequest) -> EscalationSummary:
        """To an escalation owner: the case waits, its SLA paused, for the resolution."""
        return await self._escalate(req, EscalationSource.REVIEWER)

    @escalate.validator
    def _check_escalate(self, req: EscalateRequest) -> None:
        self._allowed("escalate", req, Role.REVIEWER)

    async def _escalate(self, req: EscalateRequest, source: EscalationSource
                        ) -> EscalationSummary:
        case = self.case
        self.lc.fire("escalate", req)
        case.assignee = case.lease_expires_at = case.sla_deadline = case.hold = None
        escalations = sum(e.event == Event.ESCALATED for e in case.timeline)
        opened = await self.out.call(
            "the escalations", EscalationActivities.open_escalation,
            OpenRequest(subject=case.subject, source=source, reason=req.reason,
                        severity=req.severity, opened_by=req.reviewer,
                        request_id=f"{case.case_uid}-{escalations + 1}",
                        review_case_id=case.case_id), ACT)
        case.escalation_id, case.escalated_by = opened.escalation_id, req.reviewer
        self.journal.event(req.reviewer, Event.ESCALATED,
                           f"{opened.escalation_id} ({source.value}, {req.severity.value}): "
                           f"{req.reason}")
        await self.journal.commit()
        return opened

    @workflow.update(name=RESOLVE_ESCALATION)
    async def resolve_escalation(self, back: HandBack) -> CaseSummary:
        """The escalation's resolution: its decision, carried out as the case's own, or back
        to the queue under a fresh SLA."""
        case = self.case
        if back.actions:
            self.lc.fire("return_decision", back)
            case.decision = self._decision(back.resolved_by, back.policy_ids, back.actions,
                                           back.reason, automated=False)
        else:
            self.lc.fire("return_to_queue", back)
            case.sla_deadline = deadline(workflow.now(), case.sla_hours[case.priority])
        self.journal.event(back.resolved_by, Event.ESCALATION_RESOLVED,
                           f"{back.escalation_id}: "
                           f"{_describe(case.decision) if back.actions else back.reason}")
        await self.journal.commit()
        return case.summary()

    @resolve_escalation.validator
    def _check_hand_back(self, back: HandBack) -> None:
        require_sealed(back)
        trigger = "return_decision" if back.actions else "return_to_queue"
        self.lc.check(trigger, back)

    async def _breached(self, breaches: int) -> None:
        """A second breach takes the case to an escalation owner (runs from before only
        flagged it)."""
        if (breaches == 2 and self.case.state in self.lc.allowed_from("escalate")
                and workflow.patched("second-breach-escalates")):
            await self._escalate(EscalateRequest(
                reviewer=Actor.SLA_CLOCK, reason=f"SLA missed twice in {self.case.queue}",
                severity=self.case.priority), EscalationSource.SLA)

    async def _in_escalated(self) -> None:
        await self.journal.quiet_until(None)

    @workflow.update
    async def decide(self, req: DecideRequest) -> CaseSummary:
        self._decide(req)
        await self.journal.commit()
        return self.case.summary()

    def _decide(self, req: DecideRequest) -> None:
        self.lc.fire("decide", req)
        self.case.decision = self._decision(req.reviewer, req.policy_ids, req.actions,
                                            req.reason, automated=False)
        self.case.lease_expires_at = None
        self.journal.event(req.reviewer, Event.DECIDED, _describe(self.case.decision))

    @decide.validator
    def _check_decide(self, req: DecideRequest) -> None:
        self._allowed("decide", req, Role.REVIEWER)

    @workflow.update
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

    @retry.validator
    def _check_retry(self, req: RetryRequest) -> None:
        self._allowed("retry", req, Role.OPS, any_queue=True)

    def _allowed(self, trigger: str, req: Any, roles: Role | frozenset[Role],
                 any_queue: bool = False) -> None:
        """An Update's validator: the intake rules and who sent it (a person with the role who
        works the case's queue, or any queue), then the lifecycle (nothing is recorded for a
        refused command)."""
        require(req, roles, None if any_queue else self.case.queue)
        self.lc.check(trigger, *([req] if trigger in REVIEW.reasons else []))

    def _decision(self, by: str, policy_ids: list[str], actions: list[Action], reason: str,
                  automated: bool) -> Decision:
        """The decision pins what it cites, as the pack said at screening."""
        refs = {p.id: p for p in self.case.policies}
        if any(a.severe for a in actions) and workflow.patched("severe-actions-need-approval"):
            self.case.approval_required = True
        return Decision(decided_by=by, policy_ids=policy_ids, actions=actions, reason=reason,
                        decided_at=workflow.now(), automated=automated,
                        citations=[refs[p] for p in policy_ids if p in refs],
                        pack_version=self.case.pack_version)

    # -- states --------------------------------------------------------------------------------
    async def _in_screening(self) -> None:
        case = self.case
        screened = len(case.reports)
        s = await self.out.call("the marketplace", CaseActivities.screen_case,
                                ScreenRequest(subject=case.subject,
                                             reports=case.reports[:screened]), ACT)
        case.hits, case.policies, case.pack_version = s.hits, s.policies, s.pack_version
        case.queue, case.priority, case.queue_lead, case.sla_hours = (
            s.queue, s.priority, s.queue_lead, s.sla_hours)
        case.facts, case.source_floors = s.facts, s.source_floors
        case.dependency_alert_minutes = s.dependency_alert_minutes
        case.approval_sla_hours, case.max_hold_hours = s.approval_sla_hours, s.max_hold_hours
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
            self.journal.event(Actor.POLICY_ENGINE, Event.AUTO_ACTIONED, _describe(case.decision))
        else:
            self.lc.fire("enqueue")
            case.sla_deadline = deadline(case.opened_at, case.sla_hours[case.priority])
            self.journal.event(Actor.POLICY_ENGINE, Event.QUEUED, f"{case.queue} {case.priority.value}, "
                        f"SLA {case.sla_deadline:%Y-%m-%dT%H:%MZ}")
        await self.journal.commit()

    async def _in_auto_actioned(self) -> None:
        await self._carry_out()

    async def _in_decided(self) -> None:
        await self._carry_out()

    async def _carry_out(self) -> None:
        """A decision executes, waits for its second person first (severe actions), or has
        nothing to execute."""
        guards = self.lc.model
        if guards.needs_approval():
            await self._seek_approval()
        else:
            self._move("enforce" if guards.has_actions() else "notify")
            await self.journal.commit()

    async def _seek_approval(self) -> None:
        case = self.case
        self.lc.fire("seek_approval")
        assert case.decision is not None
        case.sla_deadline = deadline(workflow.now(), case.approval_sla_hours)
        self.journal.event(Actor.ENFORCER, Event.AWAITING_APPROVAL,
                           f"{_describe(case.decision)}; a second person approves by "
                           f"{case.sla_deadline:%Y-%m-%dT%H:%MZ}")
        await self.journal.commit()
        await self.out.tell_staff(
            f"approval-{case.revision}", case.queue_lead, MessageKind.APPROVAL_NEEDED,
            f"Case {case.case_id}: {_describe(case.decision)} waits for a second person: "
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
        await self.out.tell_staff(f"held-{self.case.revision}", self.case.queue_lead,
                                  MessageKind.HELD_TOO_LONG,
                                  f"Case {self.case.case_id} is on hold too long: {detail}")

    def _move(self, trigger: str) -> None:
        """A step of the chain the case takes by itself: the timeline (and so the ledger,
        which moves by revision) shows the state it reached."""
        self.journal.event(Actor.ENFORCER if trigger == "enforce" else Actor.NOTIFIER,
                           Event(self.lc.fire(trigger)))

    async def _in_enforcing(self) -> None:
        case = self.case
        assert case.decision is not None
        done = {e.action for e in case.enforcement}
        in_force = {e.action for e in case.in_force}
        for action in case.decision.actions:
            if action in done or action is Action.NO_ACTION:
                continue
            if action in in_force:  # never applied twice (a follow-up, a takedown job)
                self.journal.event(Actor.ENFORCER, Event.ALREADY_IN_FORCE,
                                   f"{action.value}: {_in_force(case, action)}")
                continue
            try:
                result = await self.out.call(
                    "the marketplace", CaseActivities.apply_action,
                    ApplyRequest(case_id=case.case_id, subject=case.subject, action=action,
                                 idempotency_key=f"{case.case_uid}:{action.value}",
                                 reason=case.decision.reason), ENFORCE)
            except ActivityError as e:  # the marketplace proved it can never apply this
                self.journal.event(Actor.ENFORCER, Event.ACTION_FAILED, f"{action.value}: {why(e)}")
                continue
            case.enforcement.append(result)
            self.journal.event(Actor.ENFORCER, Event.ENFORCED,
                        f"{action.value} on {result.target}: {result.detail}"
                        + ("" if result.applied else " (no second application)"))
        self._move("notify")
        await self.journal.commit()

    async def _in_notifying(self) -> None:
        """The restriction chain: statement, seller notice, reporters' outcomes. Each step is
        done once (its result is kept), so a retry after `needs_attention` resumes it."""
        case = self.case
        try:
            await self._state_reasons()
            await self._tell_reporters()
        except NeedsPerson as e:
            await self._park(str(e))
            return
        if self.lc.model.restricts():
            await self._count_strike()
            self.lc.fire("open_appeal_window")
        else:
            self.lc.fire("close")
            case.closed_at = workflow.now()
        self.journal.event(Actor.NOTIFIER, Event(case.state))
        await self.journal.commit()

    async def _state_reasons(self) -> None:
        case = self.case
        decision = case.decision
        assert decision is not None
        if self.lc.model.restricts():
            if case.statement is None:
                puid = puid_for(case.case_id, case.case_uid)
                case.statement = await self.out.step(
                    "the ledger", CaseActivities.issue_statement,
                    case.statement_request(puid), ACT)
                case.statement_puid = puid
            if case.notice_delivered_at is None:
                receipt = await self.out.step(
                    "the marketplace", CaseActivities.notify, self.out.message(
                        "sor", seller_of(case.subject), MessageKind.STATEMENT_OF_REASONS,
                        f"We restricted {case.subject}: {decision.reason}. You may appeal until "
                        f"at least {appeal_deadline(workflow.now()):%Y-%m-%d} (six months from "
                        "receiving this notice).", case.statement), ACT)
                # The window runs on the workflow's clock from the moment delivery is confirmed
                # (the receipt's wall-clock time is kept in the outbox and the timeline).
                case.notice_delivered_at = workflow.now()
                case.appeal_deadline = appeal_deadline(case.notice_delivered_at)
                self.journal.event(Actor.NOTIFIER, Event.SELLER_NOTIFIED,
                            f"statement {case.statement_puid} delivered via "
                            f"{', '.join(receipt.channels)} at "
                            f"{receipt.delivered_at:%Y-%m-%dT%H:%M:%SZ}; appeal window until "
                            f"{case.appeal_deadline:%Y-%m-%d}")
        elif any(e.action is Action.WARN for e in case.enforcement) and (
                "seller-warning" not in case.notified):
            await self.out.step("the marketplace", CaseActivities.notify, self.out.message(
                "warning", seller_of(case.subject), MessageKind.WARNING,
                f"Warning about {case.subject}: {decision.reason}"), ACT)
            case.notified.append("seller-warning")
            self.journal.event(Actor.NOTIFIER, Event.SELLER_WARNED, "")

    async def _count_strike(self) -> None:
        """The restriction is an upheld violation of the seller's (until an appeal overturns
        it); at the pack's threshold the shop gets a review by itself."""
        case, facts = self.case, self.case.facts
        if (not workflow.patched("strikes-start-shop-reviews") or "strike" in case.notified
                or facts is None or not facts.seller_id):
            return
        assert case.decision is not None
        strike = Strike(case_id=case.case_id, case_uid=case.case_uid, seller_id=facts.seller_id,
                        shop_id=facts.shop_id, policy_ids=case.decision.policy_ids)
        try:
            if workflow.patched("strike-as-local-activity"):  # a ledger write, as the journal's:
                result = await workflow.execute_local_activity_method(  # no server round trip
                    ShopReviewActivities.record_strike, strike, **LOCAL)
            else:
                result = await self.out.call("the ledger", ShopReviewActivities.record_strike,
                                             strike, ACT)
        except ActivityError as e:  # the strike is not counted; the case goes on
            self.journal.event(Actor.WATCHDOG, Event.STRIKE, f"not counted: {why(e)}")
        else:
            self.journal.event(Actor.POLICY_ENGINE, Event.STRIKE,
                               f"seller {facts.seller_id}: {result.strikes} upheld violation(s),"
                               f" threshold {result.threshold}"
                               + (f"; shop review {result.review_id}" if result.review_id
                                  else ""))
        case.notified.append("strike")

    async def _tell_reporters(self) -> None:
        """Every reporter hears the outcome once, told only what was carried out."""
        case = self.case
        text = _outcome(case)
        if not workflow.patched("one-outcome-per-reporter"):
            for i, report in enumerate(case.reports):  # runs from before: one per report
                if report.reporter and not report.source.is_automated:
                    await self.out.notify(f"outcome-{i}", reporter_address(report.reporter),
                                          MessageKind.OUTCOME, text)
            return
        for report in case.reports:
            key = report.reporter_key
            if key is None or key in case.notified:
                continue
            await self.out.step("the outbox", CaseActivities.notify, Notification(
                message_id=outcome_message_id(case.case_uid, key), case_id=case.case_id,
                recipient=reporter_address(report.reporter), kind=MessageKind.OUTCOME, text=text), ACT)
            case.notified.append(key)
        if case.reports_overflow and "overflow-reporters" not in case.notified:
            await self.out.step("the outbox", CaseActivities.notify_overflow_reporters,
                                OverflowOutcome(case_uid=case.case_uid, case_id=case.case_id,
                                             text=text), LONG)
            case.notified.append("overflow-reporters")

    async def _park(self, reason: str) -> None:
        case = self.case
        self.lc.fire("need_attention")
        case.attention = Attention(reason=reason, since=workflow.now())
        case.waiting_on = f"a person: {reason}"
        self.journal.event(Actor.NOTIFIER, Event.NEEDS_ATTENTION,
                           f"{reason}; lead {case.queue_lead} notified")
        await self.journal.commit()
        await self.out.tell_staff(
            f"attention-{case.revision}", case.queue_lead, MessageKind.NEEDS_ATTENTION,
            f"Case {case.case_id} needs attention: {reason}. Once repaired: casework case retry "
            f"{case.case_id} --reason WHAT-WAS-FIXED")

    async def _in_needs_attention(self) -> None:
        await self.journal.quiet_until(None)

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
        await self.queueing.wait()

    _in_in_review = _in_awaiting_approval = _in_queued


def _actor(report: Report) -> str:
    return report.reporter or report.source.value


def _describe(d: Decision) -> str:
    policies = ", ".join(d.policy_ids) or "no policy"
    return f"{', '.join(a.value for a in d.actions)} under {policies}: {d.reason}"


def _in_force(case: CaseState, action: Action) -> str:
    """Who put an action in force before this case's decision."""
    by = next((e.detail for e in case.in_force if e.action is action and e.detail), None)
    return f"in force by {by}" if by else f"in force under {case.followup_of}"


def _outcome(case: CaseState) -> str:
    """What a reporter is told: only actions that landed count as carried out, and what an
    earlier case put in force is said to be so."""
    assert case.decision is not None
    decided = [a for a in case.decision.actions if a is not Action.NO_ACTION]
    in_force = [e.action for e in case.in_force]
    landed = [e.action for e in case.enforcement]
    text = f"Your report about {case.subject} was reviewed."
    if in_force:
        text += f" Already in force: {', '.join(a.value for a in in_force)}."
    if not decided:
        text += (" No further action was taken." if in_force else
                 " We found no violation of our policies or the law and took no action.")
    if landed:
        text += f" Carried out: {', '.join(a.value for a in landed)}."
    if failed := [a for a in decided if a not in landed and a not in in_force]:
        text += f" Decided but not carried out: {', '.join(a.value for a in failed)}."
    return text + (" You may ask us to review this decision within six months"
                   " (reply to this message).")


def _details(case: CaseState) -> str:
    """What the Temporal UI shows for the case now."""
    line = f"**{case.state}** · {case.subject} · {case.queue} {case.priority.value}"
    if case.assignee:
        line += f" · claimed by {case.assignee}"
    if case.hold:
        line += f" · on hold: {case.hold.reason}"
    if case.sla_deadline and case.state in ("queued", "in_review"):
        line += f" · SLA {case.sla_deadline:%Y-%m-%d %H:%MZ}"
    if case.waiting_on:
        line += f"\n\nwaiting on {case.waiting_on}"
    return line

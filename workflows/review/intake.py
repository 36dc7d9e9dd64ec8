"""A review case's intake: reports joining the case while it is to be decided (its priority
recomputed on every join), and later reports handed to the subject's follow-up case."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from activities.intake import IntakeActivities
    from domain.core import (
        Actor,
        Event,
        Report,
        Source,
    )
    from domain.errors import Refused
    from domain.messages import (
        OPS,
        MessageKind,
    )
    from domain.policy import reprioritise
    from domain.review.lifecycle import JOINABLE, REVIEW, STILL_OPEN, ReviewStage
    from domain.review.models import (
        MAX_REPORTS_PER_CASE,
        CaseRef,
        ForwardRequest,
        OverflowReport,
    )
    from domain.sla import deadline
    from workflows.parts.options import ACT
    from workflows.parts.outbound import why
    from workflows.parts.trust import (
        require_sealed,
    )


FORWARD_ANSWER_WITHIN = 0.8  # seconds a late report's answer waits for its follow-up


class ReviewIntake:
    case: Any
    lc: Any
    journal: Any
    out: Any
    _opener_filed: bool
    _forwarded: dict[str, Any]

    @workflow.update
    async def file_report(self, report: Report) -> CaseRef:
        """Join a report to this case while it is to be decided; later, hand it to a follow-up
        case so it is reviewed too. The same report (source, reporter, id) twice counts once."""
        case = self.case
        if report.key == case.reports[0].key and not self._opener_filed:
            # The opener learns where its case went: wait for screening to route it (the
            # client bounds this wait, so a slow marketplace never hangs intake).
            self._opener_filed = True
            await workflow.wait_condition(lambda: case.state != REVIEW.initial)
            return self._ref("opened")
        if self.journal.lean or workflow.patched("report-identity-by-source-and-reporter"):
            seen = any(r.key == report.key for r in case.reports)
        else:  # runs from before: one source's id could swallow another's report
            seen = any(r.report_id == report.report_id for r in case.reports)
        if seen:
            return self._ref("duplicate")
        if case.state in JOINABLE or (case.state in STILL_OPEN and (
                self.journal.lean or workflow.patched("reports-join-awaiting-approval"))):
            self.lc.fire("add_report")
            return await self._join(report)
        if self.journal.lean or workflow.patched("late-reports-open-follow-ups"):
            self.lc.fire("forward_report")
            return await self._forward(report)
        # Runs from before follow-ups: the report is kept on the decided case.
        case.reports.append(report)
        self.journal.event(reporter_actor(report), Event.REPORT_JOINED,
                    f"{report.source.value} report {report.report_id}")
        await self.journal.commit()
        return self._ref("joined")

    @file_report.validator
    def _check_report(self, report: Report) -> None:
        require_sealed(report)
        if report.subject != self.case.subject:
            raise Refused(f"the report is about {report.subject or 'no subject'}, not "
                          f"{self.case.subject}")
        self.lc.check("add_report" if self.case.state in JOINABLE + STILL_OPEN
                      else "forward_report")

    async def _join(self, report: Report) -> CaseRef:
        case = self.case
        trusted_before = any(r.source is Source.TRUSTED_FLAGGER for r in case.reports)
        if len(case.reports) >= MAX_REPORTS_PER_CASE and (
                self.journal.lean or workflow.patched("reports-capped")):
            # Beyond the cap the report lives in the ledger (nothing is lost) and is counted.
            held = await self.out.call(
                "the ledger", CaseActivities.store_overflow_report,
                OverflowReport(case_uid=case.case_uid, case_id=case.case_id, report=report),
                ACT)
            if held <= case.reports_overflow:  # the ledger holds it already
                return self._ref("duplicate")
            case.reports_overflow = held
            self.journal.event(reporter_actor(report), Event.REPORT_JOINED,
                        f"{report.source.value} report {report.report_id} (kept in the ledger: "
                        f"{case.reports_overflow} beyond the cap of {MAX_REPORTS_PER_CASE})")
        else:
            case.reports.append(report)
            self.journal.event(reporter_actor(report), Event.REPORT_JOINED,
                        f"{report.source.value} report {report.report_id}")
        if self.journal.lean or workflow.patched("join-recomputes-priority"):
            if case.state != REVIEW.initial:  # screening routes with every report it has
                self._reprioritise([report], trusted_before)
        elif (report.source is Source.TRUSTED_FLAGGER and not trusted_before
              and case.state in REVIEW.queued | {ReviewStage.IN_REVIEW}
              and (self.journal.lean or workflow.patched("trusted-flagger-join-raises-priority"))):
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
        self.journal.event(reporter_actor(report), Event.REPORT_FORWARDED,
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


def reporter_actor(report: Report) -> str:
    return report.reporter or report.source.value

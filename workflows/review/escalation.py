"""A review case taken to an escalation owner (by its reviewer, by ops, or by a second SLA
breach): its SLA paused while the escalation runs, and the owner's resolution handed back as the
case's decision, or the case back in its queue."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.escalation import EscalationActivities
    from domain.core import (
        Actor,
        CaseSummary,
        Event,
        HandBack,
    )
    from domain.escalation.models import (
        RESOLVE_ESCALATION,
        EscalationSource,
        EscalationSummary,
        OpenRequest,
    )
    from domain.messages import describe_decision
    from domain.people import Role
    from domain.review.models import (
        EscalateRequest,
    )
    from domain.sla import deadline
    from workflows.parts.options import ACT
    from workflows.parts.trust import (
        require_sealed,
    )



class ReviewEscalation:
    case: Any
    lc: Any
    journal: Any
    out: Any
    _allowed: Any
    _decision: Any

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
        case.escalation_id = opened.escalation_id
        if self.journal.lean or workflow.patched("escalator-not-approver"):  # older cases let them approve
            case.escalated_by = req.reviewer
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
                           f"{describe_decision(case.decision) if back.actions else back.reason}")
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
                and (self.journal.lean or workflow.patched("second-breach-escalates"))):
            await self._escalate(EscalateRequest(
                reviewer=Actor.SLA_CLOCK, reason=f"SLA missed twice in {self.case.queue}",
                severity=self.case.priority), EscalationSource.SLA)

    async def _in_escalated(self) -> None:
        await self.journal.quiet_until(None)

"""Ops' repairs, shared by every lifecycle workflow: each goes on the record's timeline with its
operator and reason. What a lifecycle does not declare (a `release` where nothing is claimed) is
refused by its declaration, with the reason."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.authority import ClaimRequest, claim_rule
    from domain.core import Action, CaseSummary, Event
    from domain.engine import Lifecycle
    from domain.errors import Refused
    from domain.escalation.models import EscalationSource
    from domain.ops import OpsRepair
    from domain.people import Role, why_not
    from domain.review.lifecycle import CANCELLABLE
    from domain.review.models import CaseState, DecideRequest, EscalateRequest
    from domain.sla import deadline
    from workflows.parts.journal import Journal
    from workflows.parts.queueing import Queueing
    from workflows.parts.trust import require, sealed_signal


class Repairs:
    lc: Lifecycle
    journal: Journal
    queueing: Queueing
    BUMP = ""  # why ops may not bump this kind of record (empty: they may)

    @property
    def _record(self) -> Any:
        return self.journal.record

    @workflow.update
    async def ops_release(self, req: OpsRepair) -> CaseSummary:
        """Take a claim back: the record waits in its queue again."""
        holder = self._record.assignee
        self._release()
        return await self._repaired(req, f"released {holder}'s claim")

    @ops_release.validator
    def _check_release(self, req: OpsRepair) -> None:
        require(req, Role.OPS)
        self.lc.check("release")

    @workflow.update
    async def ops_reassign(self, req: OpsRepair) -> CaseSummary:
        """Hand the record to another person (their claim, their lease)."""
        assert req.reviewer is not None
        holder = self._record.assignee
        if self._held():
            self._release()
        self.queueing.claim(ClaimRequest(reviewer=req.reviewer, lease_minutes=req.lease_minutes))
        return await self._repaired(
            req, f"reassigned from {holder or 'nobody'} to {req.reviewer}")

    @ops_reassign.validator
    def _check_reassign(self, req: OpsRepair) -> None:
        require(req, Role.OPS)
        if req.reviewer is None:
            raise Refused("reassign needs the person to hand it to (--to)")
        if self._held():
            self.lc.check("release")
        elif self.lc.state not in self.lc.allowed_from("claim"):
            raise Refused(f"cannot reassign {self.lc.declaration.a_noun} in state "
                          f"{self.lc.state!r}")
        roles, queue = claim_rule(self._record.queue)  # as for their own claim
        if reason := why_not(req.reviewer, req.holder, roles, queue):
            raise Refused(reason)
        why = self.lc.declaration.reasons.get("claim")
        if why and (reason := why(self.lc.model, ClaimRequest(reviewer=req.reviewer))):
            raise Refused(reason)

    async def _repaired(self, req: OpsRepair, what: str) -> CaseSummary:
        """The repair on the timeline, with its operator and reason, committed."""
        self.journal.event(req.operator, Event.OPS_REPAIRED, f"{what}: {req.reason}")
        await self.journal.commit()
        return CaseSummary.model_validate(self._record, from_attributes=True)

    def _held(self) -> bool:
        """Someone holds a claim that ops may take back."""
        return self.lc.state in self.lc.allowed_from("release")

    def _release(self) -> None:
        self.lc.fire("release")
        self._record.assignee = self._record.lease_expires_at = None

    @workflow.update
    async def ops_bump(self, req: OpsRepair) -> CaseSummary:
        """More urgent: a higher priority, and its shorter SLA if that comes sooner."""
        record = self._record
        before, record.priority = record.priority, req.priority or record.priority.raised()
        hours = record.sla_hours.get(record.priority)
        if hours and record.sla_deadline is not None:  # a paused SLA stays paused
            record.sla_deadline = min(record.sla_deadline, deadline(workflow.now(), hours))
        return await self._repaired(
            req, f"priority {before.value} -> {record.priority.value}")

    @ops_bump.validator
    def _check_bump(self, req: OpsRepair) -> None:
        require(req, Role.OPS)
        if self.BUMP:
            raise Refused(self.BUMP)
        record = self._record
        if self.lc.state in self.lc.declaration.final:
            raise Refused(f"{record.case_id} is {self.lc.state}: nothing to bump")
        target = req.priority or record.priority.raised()
        if target.rank >= record.priority.rank:
            raise Refused(f"{record.case_id} is {record.priority.value} already: a bump "
                          "makes it more urgent")

    @workflow.signal
    async def ops_note(self, req: OpsRepair) -> None:
        """A repair done from outside (an activity retried now, a reset), on the timeline."""
        if not sealed_signal(req):
            return
        self.journal.event(req.operator, Event.OPS_REPAIRED, req.reason)
        await self.journal.commit()



class ReviewRepairs(Repairs):
    """Ops' repairs only a review case takes, each one Update (a case changes all at once or
    not at all): ending it with no action, its reporters told as for any decision; and taking it
    to an escalation owner. A claim someone holds is taken back first."""

    case: CaseState
    _decide: Any  # the review workflow's own steps
    _escalate: Any

    @workflow.update
    async def ops_cancel(self, req: OpsRepair) -> CaseSummary:
        if self._held():
            self._release()
        if self.case.held_for is not None:  # a calibration copy closes unanswered, untold
            return await self._repaired(req, "given back")
        self.queueing.claim(ClaimRequest(reviewer=req.operator))
        self._decide(DecideRequest(
            reviewer=req.operator, actions=[Action.NO_ACTION],
            reason=f"cancelled by ops: {req.reason}"))
        return await self._repaired(req, "cancelled with no action")

    @ops_cancel.validator
    def _check_cancel(self, req: OpsRepair) -> None:
        require(req, Role.OPS)
        if self.lc.state not in CANCELLABLE:
            raise Refused(f"cannot cancel a case in state {self.lc.state!r} (allowed from: "
                          f"{', '.join(sorted(CANCELLABLE))})")

    @workflow.update
    async def ops_escalate(self, req: OpsRepair) -> Any:
        if self._held():
            self._release()
        return await self._escalate(
            EscalateRequest(reviewer=req.operator, reason=req.reason, severity=req.severity),
            EscalationSource.REVIEWER)

    @ops_escalate.validator
    def _check_escalate(self, req: OpsRepair) -> None:
        require(req, Role.OPS)
        if self._held():
            self.lc.check("release")
        # ops take the holder's place (their claim is taken back first)
        self.lc.check("escalate", EscalateRequest(
            reviewer=self.case.assignee or req.operator, reason=req.reason,
            severity=req.severity))

"""A decision's draw for a blind second review: once a decision is carried out and told (by a
person or by the policy engine, restriction or not), the pack's `[qa]` rates and the decider's
record decide whether a QA check of it starts, once. The draw is this code's, keyed by the
case, so replay draws the same."""

from __future__ import annotations

import hashlib

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from domain.core import Actor, Event
    from domain.qa.models import QaInput, QaPlanRequest, Seen
    from domain.qa.sampling import Decided, may_sample, sampled
    from domain.review.models import CaseState
    from workflows.parts.journal import Journal
    from workflows.parts.options import LOCAL
    from workflows.parts.outbound import Outbound, why
    from workflows.qa import QaWorkflow


def qa_id_for(case_uid: str) -> str:
    """A check's id: fixed by its case, but not its case's (a QA reviewer given the id cannot
    look the checked decision up by it)."""
    return f"qa-{hashlib.sha256(f'qa-check:{case_uid}'.encode()).hexdigest()[:20]}"


class QaDraw:
    """The review workflow's draw (a mixin, as its other parts)."""

    case: CaseState
    journal: Journal
    out: Outbound

    async def _draw_for_qa(self) -> None:
        case, decision = self.case, self.case.decision
        if decision is None or "qa" in case.notified:
            return
        decided = Decided(case_uid=case.case_uid, queue=case.queue,
                          policy_ids=decision.policy_ids, actions=decision.actions,
                          automated=decision.automated)
        if not may_sample(decided, case.qa) or not workflow.patched("qa-sampling"):
            return  # QA off (every rate 0): no round trip, no marker
        try:  # a ledger read and the keyed draw, local (no server round trip)
            plan = await workflow.execute_local_activity_method(
                CaseActivities.qa_plan,
                QaPlanRequest(case_uid=case.case_uid, decider=decision.decided_by,
                              drift_window=case.qa.drift_window), **LOCAL)
        except ActivityError as e:  # no check drawn; the case goes on
            self.journal.event(Actor.WATCHDOG, Event.NEEDS_ATTENTION,
                               f"no QA draw: {why(e)}")
            return
        reason = sampled(decided.model_copy(update={"nth": plan.nth,
                                                    "agreement": plan.agreement}),
                         case.qa, plan.drawn)
        if reason is None:
            return
        qa_id = qa_id_for(case.case_uid)
        case.notified = [*case.notified, "qa"]
        try:
            await workflow.start_child_workflow(
                QaWorkflow.run, QaInput(
                    review_case_id=case.case_id, review_case_uid=case.case_uid,
                    subject=case.subject, first=decision, first_approver=case.approved_by,
                    seen=Seen(facts=case.facts, reports=case.reports, hits=case.hits,
                              policies=case.policies, review_queue=case.queue),
                    why_sampled=reason, enforcement=case.enforcement,
                    opener=case.reports[0], had_hits=bool(case.hits), priority=case.priority,
                    sla_hours=case.qa.sla_hours,
                    queue_lead=plan.queue_lead),
                id=qa_id, parent_close_policy=ParentClosePolicy.ABANDON,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                static_summary="a blind QA check of a decision")
        except WorkflowAlreadyStartedError:  # drawn before (a reset past the draw): once
            return
        self.journal.event(Actor.POLICY_ENGINE, Event.QA_SAMPLED, qa_id)  # not why: the
        # decider and the queue read this timeline

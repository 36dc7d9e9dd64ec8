"""A review case's draw for a blind second review: once its decision is carried out and told
(by a person or by the policy engine, restriction or not), `workflows/parts/qa_draw.py` draws
it, once."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.qa.models import QaInput, Seen
    from domain.qa.sampling import Decided
    from domain.review.models import CaseState
    from workflows.parts.journal import Journal
    from workflows.parts.qa_draw import draw_check, qa_id_for

__all__ = ["QaDraw", "qa_id_for"]


class QaDraw:
    """The review workflow's draw (a mixin, as its other parts)."""

    case: CaseState
    journal: Journal

    async def _draw_for_qa(self) -> None:
        case, decision = self.case, self.case.decision
        if decision is None or "qa" in case.notified:
            return

        def drawn() -> None:
            case.notified = [*case.notified, "qa"]

        def check(reason: str, queue_lead: str) -> QaInput:
            assert decision is not None
            return QaInput(
                review_case_id=case.case_id, review_case_uid=case.case_uid,
                subject=case.subject, first=decision, first_approver=case.approved_by,
                seen=Seen(facts=case.facts, reports=case.reports, hits=case.hits,
                          policies=case.policies, review_queue=case.queue),
                why_sampled=reason, enforcement=case.enforcement, opener=case.reports[0],
                had_hits=bool(case.hits), priority=case.priority, sla_hours=case.qa.sla_hours,
                queue_lead=queue_lead)

        await draw_check(self.journal, Decided(
            case_uid=case.case_uid, queue=case.queue, policy_ids=decision.policy_ids,
            actions=decision.actions, automated=decision.automated), decision.decided_by,
            case.qa, lambda: self.journal.lean or workflow.patched("qa-sampling"), drawn, check)

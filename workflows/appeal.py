"""AppealWorkflow: a complaint against one decision, from filing to its outcome told.

Filed by the seller of a restricted subject (from the review case, which waits for it as its
child) or by a reporter whose notice led to no action. Queued under the appeals SLA, reviewed
by someone other than the original decider, then upheld, overturned (every action that landed
is reversed exactly once: the compensation of the original enforcement, keyed by it) or
modified (reversed down to lesser actions, which get their own statement of reasons). An
overturned `no_action` applies what should have happened. The appellant hears the outcome with
the out-of-court dispute settlement reference (DSA Art. 21).
"""

from __future__ import annotations

from functools import partial

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from activities.shop_review import ShopReviewActivities
    from domain.appeal.commands import APPEAL_COMMANDS as COMMANDS
    from domain.appeal.lifecycle import APPEAL, VERDICTS
    from domain.appeal.models import (
        AppealDecideRequest,
        AppealInput,
        AppealState,
        Outcome,
        Verdict,
    )
    from domain.authority import ClaimRequest, approval_needed
    from domain.core import Actor, CaseSummary, Decision, Event
    from domain.engine import Lifecycle
    from domain.messages import OPS, MessageKind
    from domain.people import Role
    from domain.qa.models import QaInput, Seen
    from domain.qa.sampling import Decided
    from domain.review.models import ApproveRequest
    from domain.sla import deadline
    from workflows.parts.commands import command
    from workflows.parts.correction import Correction
    from workflows.parts.journal import Journal
    from workflows.parts.loop import run_states
    from workflows.parts.options import ACT
    from workflows.parts.other_updates import OtherUpdates
    from workflows.parts.outbound import Outbound, why
    from workflows.parts.qa_draw import draw_check
    from workflows.parts.queueing import Queueing
    from workflows.parts.reads import Reads
    from workflows.parts.repairs import Repairs
    from workflows.parts.trust import carried, refuse_unsealed_start, require


@workflow.defn
class AppealWorkflow(Reads, Repairs, OtherUpdates):
    RENAMED = {"claim": ("claim_appeal", ClaimRequest),
               "decide": ("decide_appeal", AppealDecideRequest)}

    @workflow.init
    def __init__(self, inp: AppealInput) -> None:
        info = workflow.info()
        carry = carried(inp.carried)
        self.appeal = carry or AppealState(
            case_id=info.workflow_id, case_uid=info.first_execution_run_id,
            subject=inp.subject, state=APPEAL.initial, priority=inp.priority,
            opened_at=workflow.now(), review_case_id=inp.review_case_id,
            review_case_uid=inp.review_case_uid, appellant=inp.appellant, text=inp.text,
            original=inp.decision, enforcement=inp.enforcement, opener=inp.opener,
            had_hits=inp.had_hits, facts=inp.facts, policies=inp.policies,
            pack_version=inp.pack_version, original_approver=inp.approved_by, qa=inp.qa)
        self.lc = Lifecycle(APPEAL, self.appeal)
        self.journal = Journal(self.appeal, CaseActivities.record_case, _details)
        self.out = Outbound(self.journal, CaseActivities.notify)
        self.queueing = Queueing(self.appeal, self.lc, self.journal, self.out)
        self.correction = Correction(self.appeal, self.journal, self.out,
                                     partial(self.out.trouble, "Appeal"))
        if carry is None:
            self.journal.event(inp.appellant.id, Event.APPEAL_FILED,
                               f"{inp.appellant.kind.value} appeals {inp.review_case_id} "
                               f"({_actions(inp.decision)})")

    @workflow.run
    async def run(self, inp: AppealInput) -> AppealState:
        refuse_unsealed_start(inp)
        await run_states(self, self.appeal, final=APPEAL.final, waiting=APPEAL.waiting,
                         settled=self._settled, carry=lambda appeal: appeal.carried())
        await self._settled()
        return self.appeal

    # -- queries -------------------------------------------------------------------------------
    @workflow.query
    def snapshot(self) -> AppealState:
        return self.appeal

    # -- updates -------------------------------------------------------------------------------
    @workflow.update
    async def claim_appeal(self, req: ClaimRequest) -> CaseSummary:
        self.queueing.claim(req)
        await self.journal.commit()
        return self.appeal.summary()

    @claim_appeal.validator
    def _check_claim(self, req: ClaimRequest) -> None:
        require(req, Role.APPEALS, self.appeal.queue)
        self.lc.check("claim", req)

    @workflow.update
    async def decide_appeal(self, req: AppealDecideRequest) -> CaseSummary:
        appeal = self.appeal
        appeal.four_eyes = appeal.four_eyes or workflow.patched("appeal-four-eyes")
        self.lc.fire(VERDICTS[req.outcome], req)
        replacement = None
        if req.actions:  # what applies instead (modified), or should have (overturned no_action)
            refs = {p.id: p for p in appeal.policies}
            cited = req.policy_ids or appeal.original.policy_ids
            replacement = Decision(
                decided_by=req.reviewer, policy_ids=cited, actions=req.actions,
                reason=req.reason, decided_at=workflow.now(), automated=False,
                citations=[refs[p] for p in cited if p in refs], pack_version=appeal.pack_version)
        appeal.verdict = Verdict(outcome=req.outcome, decided_by=req.reviewer, reason=req.reason,
                                 decided_at=workflow.now(), decision=replacement)
        appeal.lease_expires_at, appeal.sla_deadline = None, None
        actions = f"; instead: {_actions(replacement)}" if replacement else ""
        self.journal.event(req.reviewer, Event.APPEAL_DECIDED,
                           f"{req.outcome.value}: {req.reason}{actions}")
        if appeal.state in APPEAL.awaiting:
            await self._seek_approval(req)
        await self.journal.commit()
        return appeal.summary()

    async def _seek_approval(self, req: AppealDecideRequest) -> None:
        appeal = self.appeal
        appeal.approval = approval_needed(req.actions)
        appeal.sla_deadline = deadline(workflow.now(), appeal.approval_sla_hours)
        self.journal.event(Actor.ENFORCER, Event.AWAITING_APPROVAL,
                           f"{appeal.approval}: a second person approves by "
                           f"{appeal.sla_deadline:%Y-%m-%dT%H:%MZ}")
        await self.journal.commit()
        await self.out.tell_staff(
            f"approval-{appeal.revision}", appeal.queue_lead or OPS, MessageKind.APPROVAL_NEEDED,
            f"Appeal {appeal.case_id}: {req.outcome.value} with "
            f"{', '.join(a.value for a in req.actions)} waits for a second person")

    @command(COMMANDS["approve"])
    async def approve_appeal(self, req: ApproveRequest) -> CaseSummary:
        """A second person lets a severe verdict be carried out."""
        appeal = self.appeal
        self.lc.fire("approve", req)
        appeal.approved_by, appeal.sla_deadline = req.approver, None
        self.journal.event(req.approver, Event.APPROVED, f"{appeal.state}: {appeal.approval}")
        await self.journal.commit()
        return appeal.summary()

    @decide_appeal.validator
    def _check_decide(self, req: AppealDecideRequest) -> None:
        require(req, Role.APPEALS, self.appeal.queue)
        self.lc.check(VERDICTS[req.outcome], req)

    # -- states --------------------------------------------------------------------------------
    async def _in_filed(self) -> None:
        appeal = self.appeal
        settings = await self.out.call("the pack", CaseActivities.appeal_settings,
                                       appeal.case_id, ACT)
        appeal.queue_lead, appeal.sla_hours = settings.queue_lead, settings.sla_hours
        appeal.dispute_settlement = settings.dispute_settlement
        appeal.dependency_alert_minutes = settings.dependency_alert_minutes
        appeal.approval_sla_hours = settings.approval_sla_hours
        self.lc.fire("enqueue")
        appeal.sla_deadline = deadline(appeal.opened_at, appeal.sla_hours[appeal.priority])
        self.journal.event(Actor.INTAKE, Event.QUEUED,
                           f"{appeal.queue} {appeal.priority.value}, "
                           f"SLA {appeal.sla_deadline:%Y-%m-%dT%H:%MZ}")
        await self.journal.commit()

    async def _in_queued(self) -> None:
        await self.queueing.wait()

    _in_in_review = _in_awaiting_approval = _in_queued

    async def _in_upheld(self) -> None:
        await self._reverse()
        await self._apply_instead()
        await self._tell_appellant()

    _in_overturned = _in_modified = _in_upheld

    async def _in_notified(self) -> None:
        await self._draw_for_qa()
        self.lc.fire("close")
        self.appeal.closed_at = workflow.now()
        self.journal.event(Actor.NOTIFIER, Event.CLOSED)
        await self.journal.commit()

    async def _draw_for_qa(self) -> None:
        """The verdict, carried out and told, drawn for a blind second review at the pack's
        `appeals` rate (once); a correction starts from what is in force after it."""
        appeal, final = self.appeal, self.appeal.final()
        if final is None or appeal.qa_drawn:
            return

        def drawn() -> None:
            appeal.qa_drawn = True

        def check(reason: str, queue_lead: str) -> QaInput:
            assert final is not None
            return QaInput(
                review_case_id=appeal.case_id, review_case_uid=appeal.case_uid,
                strike_case_uid=appeal.review_case_uid, subject=appeal.subject, first=final,
                first_approver=appeal.approved_by,
                seen=Seen(facts=appeal.facts, reports=[appeal.opener],
                          policies=appeal.policies, review_queue=appeal.queue),
                why_sampled=reason, enforcement=appeal.in_force(), opener=appeal.opener,
                had_hits=appeal.had_hits, priority=appeal.priority,
                sla_hours=appeal.qa.sla_hours, queue_lead=queue_lead)

        await draw_check(self.journal, Decided(
            case_uid=appeal.case_uid, queue=appeal.queue, policy_ids=final.policy_ids,
            actions=final.actions, appeal=True), final.decided_by, appeal.qa,
            lambda: workflow.patched("qa-appeal-sampling"), drawn, check)

    # -- carrying the verdict out --------------------------------------------------------------
    async def _reverse(self) -> None:
        """Undo what landed and is not kept, once each (keyed by the original action)."""
        appeal, verdict = self.appeal, self.appeal.verdict
        assert verdict is not None
        if verdict.outcome is Outcome.UPHELD:
            return
        keep = set(verdict.decision.actions) if verdict.decision else set()
        await self.correction.reverse(keep, f"appeal {appeal.case_id} {verdict.outcome.value}: "
                                            f"{verdict.reason}")
        if verdict.outcome is Outcome.OVERTURNED and workflow.patched("overturn-strikes"):
            # The seller's violation no longer counts towards a shop review (idempotent).
            await self.out.call("the ledger", ShopReviewActivities.overturn_strike,
                                appeal.review_case_uid, ACT)
        await self.journal.commit()

    async def _apply_instead(self) -> None:
        """The replacement decision's new actions, their statement and the seller's notice."""
        verdict = self.appeal.verdict
        assert verdict is not None
        if verdict.decision is None:
            return
        await self.correction.apply(verdict.decision, "an appeal")
        await self.journal.commit()

    async def _tell_appellant(self) -> None:
        appeal, verdict = self.appeal, self.appeal.verdict
        assert verdict is not None
        text = (f"Your appeal against the decision on {appeal.subject} "
                f"({_actions(appeal.original)}) was {verdict.outcome.value}: {verdict.reason}.")
        if appeal.reversed:
            text += f" Reversed: {', '.join(e.action.value for e in appeal.reversed)}."
        if appeal.applied:
            text += f" Now in force: {', '.join(e.action.value for e in appeal.applied)}."
        text += f" If you disagree, you may turn to {appeal.dispute_settlement}."
        try:
            await self.out.call("the outbox", CaseActivities.notify, self.out.message(
                "outcome", appeal.appellant_address(), MessageKind.APPEAL_OUTCOME, text), ACT)
        except ActivityError as e:
            await self.out.trouble("Appeal", Event.MESSAGE_FAILED, f"appeal outcome: {why(e)}")
        self.lc.fire("notify")
        appeal.notified_at = workflow.now()
        self.journal.event(Actor.NOTIFIER, Event.NOTIFIED,
                           f"{appeal.appellant.kind.value} {appeal.appellant.id}")
        await self.journal.commit()


def _actions(decision: Decision | None) -> str:
    return ", ".join(a.value for a in decision.actions) if decision else "-"


def _details(appeal: AppealState) -> str:
    """What the Temporal UI shows for the appeal now."""
    line = (f"**{appeal.state}** · appeal of {appeal.review_case_id} by "
            f"{appeal.appellant.kind.value} {appeal.appellant.id}")
    if appeal.assignee:
        line += f" · claimed by {appeal.assignee}"
    if appeal.waiting_on:
        line += f"\n\nwaiting on {appeal.waiting_on}"
    return line

"""QaWorkflow: a blind second review of one decision, from sampling to the final word.

A QA reviewer (role `qa`, or a senior) other than the decider and the decision's approver
claims the check from the QA queue and gives their own verdict, seeing the subject as the
decider saw it and never the first verdict (`blind`). Agreement (the same actions, the same
policy) closes the check; a disagreement waits for a senior who is neither party, whose word is
final: it upholds what was enforced (closed) or differs from it, and the correction is carried
out through the appeal's path (`workflows/parts/correction.py`) before the check is corrected.
The QA queue has its own SLA and breaches like the others.
"""

from __future__ import annotations

from functools import partial

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from activities.shop_review import ShopReviewActivities
    from domain.authority import ClaimRequest
    from domain.core import Actor, CaseSummary, Decision, Event, Priority
    from domain.engine import Lifecycle
    from domain.messages import MessageKind, seller_of
    from domain.qa.commands import QA_COMMANDS as COMMANDS
    from domain.qa.lifecycle import QA
    from domain.qa.models import (
        AdjudicateRequest,
        Agreement,
        BlindCheck,
        QaDecideRequest,
        QaInput,
        QaState,
        Verdict,
    )
    from domain.sla import deadline
    from workflows.parts.commands import command
    from workflows.parts.correction import Correction
    from workflows.parts.journal import Journal
    from workflows.parts.loop import run_states
    from workflows.parts.options import ACT
    from workflows.parts.other_updates import OtherUpdates
    from workflows.parts.outbound import Outbound, why
    from workflows.parts.queueing import Queueing
    from workflows.parts.reads import Reads
    from workflows.parts.repairs import Repairs
    from workflows.parts.trust import carried, refuse_unsealed_start


@workflow.defn
class QaWorkflow(Reads, Repairs, OtherUpdates):
    BUMP = ""

    @workflow.init
    def __init__(self, inp: QaInput) -> None:
        info = workflow.info()
        carry = carried(inp.carried)
        self.qa = carry or QaState(
            case_id=info.workflow_id, case_uid=info.first_execution_run_id,
            subject=inp.subject, state=QA.initial, priority=inp.priority, queue=inp.queue,
            queue_lead=inp.queue_lead, sla_hours=dict.fromkeys(Priority, inp.sla_hours),
            opened_at=workflow.now(), review_case_id=inp.review_case_id,
            review_case_uid=inp.review_case_uid, strike_case_uid=inp.strike_case_uid,
            first=inp.first,
            first_approver=inp.first_approver, seen=inp.seen, why_sampled=inp.why_sampled,
            enforcement=inp.enforcement, opener=inp.opener, had_hits=inp.had_hits)
        self.lc = Lifecycle(QA, self.qa)
        self.journal = Journal(self.qa, CaseActivities.record_case, _details)
        self.out = Outbound(self.journal, CaseActivities.notify)
        self.queueing = Queueing(self.qa, self.lc, self.journal, self.out)
        self.correction = Correction(self.qa, self.journal, self.out,
                                     partial(self.out.trouble, "QA check"))
        if carry is None:  # the timeline names neither the decision nor why it was drawn
            self.journal.event(Actor.INTAKE, Event.QA_SAMPLED, "a blind second review")

    @workflow.run
    async def run(self, inp: QaInput) -> QaState:
        refuse_unsealed_start(inp)
        await run_states(self, self.qa, final=QA.final, waiting=QA.waiting,
                         settled=self._settled, carry=lambda qa: qa.carried())
        await self._settled()
        return self.qa

    # -- queries -------------------------------------------------------------------------------
    @workflow.query
    def snapshot(self) -> QaState:
        """The whole check, the first verdict included: for who may see it (the client
        decides; a QA reviewer before their verdict gets `blind`)."""
        return self.qa

    @workflow.query
    def blind(self) -> BlindCheck:
        return self.qa.blind()

    # -- updates -------------------------------------------------------------------------------
    @command(COMMANDS["claim"])
    async def claim_check(self, req: ClaimRequest) -> CaseSummary:
        self.queueing.claim(req)
        await self.journal.commit()
        return self.qa.summary()

    @command(COMMANDS["decide"])
    async def decide_check(self, req: QaDecideRequest) -> CaseSummary:
        qa = self.qa
        self.lc.fire("decide", req)
        qa.verdict = Verdict(by=req.reviewer, policy_ids=req.policy_ids, actions=req.actions,
                             reason=req.reason, at=workflow.now())
        qa.agreement = Agreement.of(qa.first, qa.verdict)
        qa.lease_expires_at = None
        self.journal.event(req.reviewer, Event.QA_DECIDED, _compared(qa.agreement))
        await self.journal.commit()
        return qa.summary()

    @command(COMMANDS["adjudicate"])
    async def adjudicate(self, req: AdjudicateRequest) -> CaseSummary:
        qa = self.qa
        self.lc.fire("adjudicate", req)
        qa.adjudication = Verdict(by=req.senior, policy_ids=req.policy_ids,
                                  actions=req.actions, reason=req.reason, at=workflow.now())
        qa.final_agreement = Agreement.of(qa.first, qa.adjudication)
        qa.sla_deadline = None
        if qa.state in QA.final:
            qa.closed_at = workflow.now()
        self.journal.event(req.senior, Event.ADJUDICATED,
                           f"{'upholds' if qa.final_agreement.agreed else 'corrects'} the "
                           f"decision: {', '.join(a.value for a in req.actions)}: {req.reason}")
        await self.journal.commit()
        return qa.summary()

    # -- states --------------------------------------------------------------------------------
    async def _in_sampled(self) -> None:
        qa = self.qa
        self.lc.fire("enqueue")
        qa.sla_deadline = deadline(qa.opened_at, qa.sla_hours[qa.priority])
        self.journal.event(Actor.INTAKE, Event.QUEUED,
                           f"{qa.queue} {qa.priority.value}, SLA {qa.sla_deadline:%Y-%m-%dT%H:%MZ}")
        await self.journal.commit()

    async def _in_queued(self) -> None:
        await self.queueing.wait()

    _in_in_review = _in_adjudicating = _in_queued

    async def _in_agreed(self) -> None:
        self.lc.fire("close")
        self.qa.sla_deadline, self.qa.closed_at = None, workflow.now()
        self.journal.event(Actor.SLA_CLOCK, Event.CLOSED, "the check agrees")
        await self.journal.commit()

    async def _in_disagreed(self) -> None:
        """A senior who is neither party gives the final word, within the queue's SLA."""
        qa = self.qa
        self.lc.fire("adjudicate_next")
        qa.assignee = None
        qa.sla_deadline = deadline(workflow.now(), qa.sla_hours[qa.priority])
        self.journal.event(Actor.SLA_CLOCK, Event.QUEUED, "for a senior's adjudication")
        await self.journal.commit()


    async def _in_correcting(self) -> None:
        """The senior's word replaces what was enforced, through the appeal's path: what
        landed and is not kept reversed once, what is new applied with its statement of
        reasons, the seller's strike taken back when nothing restricts any more, the seller
        told."""
        qa = self.qa
        final = qa.adjudication
        assert final is not None
        refs = {p.id: p for p in qa.seen.policies}
        decision = Decision(decided_by=final.by, policy_ids=final.policy_ids,
                            actions=final.actions, reason=final.reason, decided_at=final.at,
                            automated=False, citations=[refs[p] for p in final.policy_ids
                                                        if p in refs],
                            pack_version=qa.first.pack_version)
        await self.correction.reverse(set(final.actions),
                                      f"QA check {qa.case_id} corrected: {final.reason}")
        if qa.first.restricts and not decision.restricts:
            await self.out.call("the ledger", ShopReviewActivities.overturn_strike,
                                qa.strike_case_uid or qa.review_case_uid, ACT)
        await self.correction.apply(decision, "a quality review")
        if qa.reversed and qa.statement is None:  # a statement tells of what applies instead
            await self._tell_seller(decision)
        self.lc.fire("finish")
        qa.closed_at = workflow.now()
        self.journal.event(Actor.ENFORCER, Event.CORRECTED, _effects(qa))
        await self.journal.commit()

    async def _tell_seller(self, decision: Decision) -> None:
        qa = self.qa
        text = (f"After a quality review, the decision on {qa.subject} was corrected: "
                f"{_effects(qa)}. {decision.reason}")
        try:
            await self.out.call("the outbox", CaseActivities.notify, self.out.message(
                "corrected", seller_of(qa.subject), MessageKind.DECISION_CORRECTED, text), ACT)
            self.journal.event(Actor.NOTIFIER, Event.SELLER_NOTIFIED, "of the correction")
        except ActivityError as e:
            await self.out.trouble("QA check", Event.MESSAGE_FAILED,
                                 f"the seller's notice: {why(e)}")


def _effects(qa: QaState) -> str:
    done = [f"{label} {', '.join(e.action.value for e in steps)}"
            for label, steps in (("reversed", qa.reversed), ("applied", qa.applied)) if steps]
    return "; ".join(done) or "nothing to change on the marketplace"


def _compared(agreement: Agreement) -> str:
    if agreement.agreed:
        return "agrees with the decision"
    differ = [what for what, same in (("actions", agreement.same_actions),
                                      ("policy", agreement.same_policy)) if not same]
    return f"disagrees: {' and '.join(differ)} differ"


def _details(qa: QaState) -> str:
    """What the Temporal UI shows for the check now (never the first verdict)."""
    line = f"**{qa.state}** · QA check of {qa.subject} · {qa.queue} {qa.priority.value}"
    if qa.assignee:
        line += f" · claimed by {qa.assignee}"
    return line

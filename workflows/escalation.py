"""EscalationWorkflow: one sensitive matter, from opening to closure, driven by the escalation
lifecycle and composed of the shared parts (Journal, Outbound, run_states).

At its start it reads the pack's escalation settings (an activity, so the workflow stays
deterministic). Unacknowledged past its acknowledgement deadline it breaches: marked, severity
raised one step, the lead and leadership told, a new deadline set. Once acknowledged,
leadership hears its status every `update_every_hours`; a P0 pages the on-call owner once.
Owner commands are Updates whose validators ask the declaration (a refusal changes nothing).
A resolution is handed back to the review case the escalation came from, then it closes.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from activities.escalation import EscalationActivities
    from domain.core import Actor, Event, HandBack, Priority
    from domain.engine import Lifecycle
    from domain.errors import Refused
    from domain.escalation.commands import ESCALATION_COMMANDS as COMMANDS
    from domain.escalation.lifecycle import ESCALATION, EscalationStage
    from domain.escalation.models import (
        MAX_NOTES,
        AckRequest,
        EscalationInput,
        EscalationState,
        EscalationSummary,
        HandBackRequest,
        HandOffRequest,
        Note,
        NoteRequest,
        ResolveRequest,
        SeverityRequest,
        TrendNote,
    )
    from domain.messages import MessageKind
    from domain.sla import deadline
    from workflows.parts.commands import command
    from workflows.parts.journal import Journal
    from workflows.parts.loop import run_states
    from workflows.parts.options import ACT
    from workflows.parts.other_updates import OtherUpdates
    from workflows.parts.outbound import Outbound, why
    from workflows.parts.queueing import Queueing
    from workflows.parts.reads import Reads
    from workflows.parts.repairs import Repairs
    from workflows.parts.trust import carried, refuse_unsealed_start, require_sealed


@workflow.defn
class EscalationWorkflow(Reads, Repairs, OtherUpdates):
    BUMP = ("an escalation's severity is its owner's call (escalation severity, with a reason; "
            "P0 pages on-call); unacknowledged, it climbs a step at each missed deadline")
    @workflow.init
    def __init__(self, inp: EscalationInput) -> None:
        req, info = inp.request, workflow.info()
        carry = carried(inp.carried)
        self.esc = carry or EscalationState(
            case_id=info.workflow_id, case_uid=info.first_execution_run_id,
            subject=req.subject, source=req.source, state=ESCALATION.initial, priority=req.severity,
            assignee=req.owner, review_case_id=req.review_case_id, reason=req.reason,
            opened_by=req.opened_by, opened_at=workflow.now())
        self.lc = Lifecycle(ESCALATION, self.esc)
        self.journal = Journal(self.esc, CaseActivities.record_case, _details)
        self.out = Outbound(self.journal, CaseActivities.notify)
        self.queueing = Queueing(self.esc, self.lc, self.journal, self.out,
                                 on_breach=lambda _: self._page_on_call())
        if carry is None:
            case = f" from case {req.review_case_id}" if req.review_case_id else ""
            owner = f", owner {req.owner}" if req.owner else ""
            self.journal.event(req.opened_by, Event.OPENED,
                               f"{req.source.value} {req.severity.value} about {req.subject}"
                               f"{case}{owner}: {req.reason}")

    @workflow.run
    async def run(self, inp: EscalationInput) -> EscalationState:
        refuse_unsealed_start(inp)
        if self.esc.policy is None:
            await self._set_up()
        await run_states(self, self.esc, final=ESCALATION.final, waiting=ESCALATION.waiting,
                         settled=self._settled,
                         carry=lambda esc: EscalationInput(request=inp.request, carried=esc))
        await self._settled()
        return self.esc

    async def _set_up(self) -> None:
        """The pack's settings: the acknowledgement deadline counts from the opening."""
        esc = self.esc
        setup = await self.out.call("the policy pack", EscalationActivities.escalation_setup,
                                    esc.case_id, ACT)
        esc.policy, esc.dependency_alert_minutes = setup.policy, setup.dependency_alert_minutes
        esc.queue_lead = setup.policy.lead
        esc.sla_deadline = deadline(esc.opened_at, setup.policy.ack_sla_hours)
        await self.journal.commit()
        await self._page_on_call()

    # -- queries -------------------------------------------------------------------------------
    @workflow.query
    def snapshot(self) -> EscalationState:
        return self.esc

    @workflow.query
    def summary(self) -> EscalationSummary:
        return self.esc.summary()

    # -- updates -------------------------------------------------------------------------------
    @workflow.update
    def opened(self) -> EscalationSummary:
        """The answer to opening it (the same request again gets the escalation as it is)."""
        return self.esc.summary()

    @command(COMMANDS["ack"])
    async def acknowledge(self, req: AckRequest) -> EscalationSummary:
        esc = self.esc
        self.lc.fire("acknowledge", req)
        esc.assignee, esc.acknowledged_at = req.owner, workflow.now()
        late = " (after its deadline)" if esc.sla_breached else ""
        self.journal.event(req.owner, Event.ACKNOWLEDGED, f"owned by {req.owner}{late}")
        return await self._answer()

    @command(COMMANDS["note"])
    async def add_note(self, req: NoteRequest) -> EscalationSummary:
        esc = self.esc
        began = esc.state == EscalationStage.ACKNOWLEDGED
        self.lc.fire("note", req)
        esc.notes = [*esc.notes, Note(at=workflow.now(), by=req.owner, text=req.text)][-MAX_NOTES:]
        if began:
            self.journal.event(req.owner, Event.INVESTIGATING)
        self.journal.event(req.owner, Event.NOTE_ADDED, req.text)
        return await self._answer()

    @command(COMMANDS["severity"])
    async def change_severity(self, req: SeverityRequest) -> EscalationSummary:
        esc = self.esc
        self.lc.fire("change_severity", req)
        before, esc.priority = esc.priority, req.severity
        self.journal.event(req.owner, Event.SEVERITY_CHANGED,
                           f"{before.value} -> {req.severity.value}: {req.reason}")
        answer = await self._answer()
        await self._page_on_call()
        return answer

    @command(COMMANDS["resolve"])
    async def resolve(self, req: ResolveRequest) -> EscalationSummary:
        esc = self.esc
        self.lc.fire("resolve", req)
        esc.resolution = HandBack(escalation_id=esc.case_id, resolved_by=req.owner,
                                  policy_ids=req.policy_ids, actions=req.actions,
                                  reason=req.reason)
        decided = ", ".join(a.value for a in req.actions) or "no actions"
        to = f"; for case {esc.review_case_id}" if esc.review_case_id else ""
        self.journal.event(req.owner, Event.RESOLVED, f"{decided}{to}: {req.reason}")
        return await self._answer()

    @command(COMMANDS["handoff"])
    async def hand_off(self, req: HandOffRequest) -> EscalationSummary:
        self.lc.fire("hand_off", req)
        self.esc.handed_off_to = req.to
        self.journal.event(req.owner, Event.HANDED_OFF, f"to {req.to.value}: {req.reason}")
        return await self._answer()

    @workflow.update
    async def trend_grew(self, req: TrendNote) -> EscalationSummary:
        """A trend scan's note: the spike that opened the escalation has grown."""
        esc = self.esc
        esc.notes = [*esc.notes, Note(at=workflow.now(), by=Actor.TREND_SCAN,
                                      text=req.text)][-MAX_NOTES:]
        self.journal.event(Actor.TREND_SCAN, Event.NOTE_ADDED, req.text)
        return await self._answer()

    @trend_grew.validator
    def _trend_grew_ok(self, req: TrendNote) -> None:
        require_sealed(req)
        if self.esc.state in ESCALATION.final:
            raise Refused(f"escalation {self.esc.case_id} is {self.esc.state}")

    async def _answer(self) -> EscalationSummary:
        await self.journal.commit()
        return self.esc.summary()

    # -- states --------------------------------------------------------------------------------
    async def _in_open(self) -> None:
        """Wait for the acknowledgement; past its deadline, breach (the shared queue clock:
        `EscalationState.breach` says who hears)."""
        await self.queueing.wait()

    async def _page_on_call(self) -> None:
        """A P0 (opened so, raised by the owner or by a breach) pages the on-call owner once."""
        esc = self.esc
        if esc.priority is not Priority.P0 or esc.on_call_paged or esc.policy is None:
            return
        esc.on_call_paged = True
        self.journal.event(Actor.NOTIFIER, Event.ON_CALL_PAGED, esc.policy.on_call)
        await self.journal.commit()
        await self.out.tell_staff("on-call", esc.policy.on_call, MessageKind.ON_CALL,
                                  f"P0 escalation {esc.case_id} ({esc.source.value}) about "
                                  f"{esc.subject}: {esc.reason}. {_status(esc)}")

    async def _await_work(self) -> None:
        """Owned and open: leadership hears its status on schedule until it is settled."""
        if await self.journal.quiet_until(self.esc.next_update_at()):
            await self._report_status()

    async def _report_status(self) -> None:
        esc = self.esc
        assert esc.policy is not None
        self.lc.fire("report_status")
        esc.updates_sent += 1
        self.journal.event(Actor.NOTIFIER, Event.LEADERSHIP_UPDATED,
                           f"update {esc.updates_sent} to {esc.policy.leadership}")
        await self.journal.commit()
        await self.out.tell_staff(f"update-{esc.updates_sent}", esc.policy.leadership,
                                  MessageKind.LEADERSHIP_UPDATE,
                                  f"Escalation {esc.case_id} ({esc.source.value}) about "
                                  f"{esc.subject}. {_status(esc)}")

    async def _in_resolved(self) -> None:
        """The review case it came from gets the resolution; a hand-off sends that case back
        to its queue (the matter is handled outside now; the marketplace decision is not)."""
        esc = self.esc
        if esc.review_case_id and not esc.handed_back:
            if esc.resolution is None:
                assert esc.handed_off_to is not None
                esc.resolution = HandBack(
                    escalation_id=esc.case_id, resolved_by=esc.assignee or Actor.INTAKE,
                    reason=f"handed off to {esc.handed_off_to.value}; the case goes back to "
                           "its queue")
            await self._hand_back()
        await self._close()

    async def _hand_back(self) -> None:
        """The review case gets the decision (it continues from there). A refusal is final:
        the lead is told, and the escalation closes with its decision on record."""
        esc = self.esc
        assert esc.resolution is not None and esc.review_case_id is not None
        try:
            await self.out.call("the review case", EscalationActivities.hand_back,
                                HandBackRequest(review_case_id=esc.review_case_id,
                                                hand_back=esc.resolution), ACT)
        except ActivityError as e:
            self.journal.event(Actor.NOTIFIER, Event.HAND_BACK_REFUSED, why(e))
            await self.out.tell_staff(
                "hand-back", esc.queue_lead, MessageKind.NEEDS_ATTENTION,
                f"Escalation {esc.case_id} was resolved but case {esc.review_case_id} "
                f"did not take the decision back: {why(e)}. Decision: {esc.resolution.reason}")
        else:
            self.journal.event(Actor.NOTIFIER, Event.HANDED_BACK, esc.review_case_id)
        esc.handed_back = True

    async def _close(self) -> None:
        self.lc.fire("close")
        self.esc.closed_at = workflow.now()
        self.journal.event(Actor.NOTIFIER, Event.CLOSED)
        await self.journal.commit()

    _in_acknowledged = _in_investigating = _await_work
    _in_handed_off = _in_resolved


def _status(esc: EscalationState) -> str:
    """What leadership reads: state, owner, age, severity, latest note."""
    minutes = int((workflow.now() - esc.opened_at).total_seconds() // 60)
    note = f"{esc.notes[-1].text} ({esc.notes[-1].by})" if esc.notes else "none yet"
    return (f"State {esc.state}, owner {esc.assignee or 'none'}, open {minutes // 60}h"
            f"{minutes % 60:02d}m, severity {esc.priority.value}. Latest note: {note}")


def _details(esc: EscalationState) -> str:
    """What the Temporal UI shows for the escalation now."""
    line = (f"**{esc.state}** · {esc.source.value} escalation · {esc.subject} · "
            f"{esc.priority.value} · owner {esc.assignee or 'none'}")
    if esc.state in ESCALATION.queued and esc.sla_deadline:
        line += f" · acknowledge by {esc.sla_deadline:%Y-%m-%d %H:%MZ}"
    if esc.waiting_on:
        line += f"\n\nwaiting on {esc.waiting_on}"
    return line

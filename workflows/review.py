"""ReviewWorkflow: one case, from intake to closure, driven by the review lifecycle.

The run loop dispatches on the case's state (`_in_<state>`), so a case continued as new resumes
from whatever state it carried. Reviewer commands are Updates whose validators ask the lifecycle
(a refused command writes nothing to history); each handler changes state before its first
`await`, so two commands in one workflow task see each other's effect.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from domain.lifecycle import Lifecycle
    from domain.models import (
        Action,
        ApplyRequest,
        CaseInput,
        CaseRef,
        CaseState,
        ClaimRequest,
        DecideRequest,
        Decision,
        Notification,
        Receipt,
        Report,
        ScreenRequest,
        Source,
        StatementRequest,
        TimelineEvent,
    )
    from domain.sla import APPEAL_WINDOW, deadline
    from domain.statement import puid_for
    from workflows import search_attributes

ENGINE = "policy-engine"
WAITING = ("queued", "in_review", "appealable")
_ACT = {"start_to_close_timeout": timedelta(seconds=30),
        "retry_policy": RetryPolicy(maximum_interval=timedelta(minutes=1))}
_ENFORCE = {"start_to_close_timeout": timedelta(minutes=2),
            "heartbeat_timeout": timedelta(seconds=30),
            "retry_policy": RetryPolicy(maximum_interval=timedelta(seconds=30),
                                        non_retryable_error_types=["SubjectNotFound",
                                                                   "ActionRefused"])}


@workflow.defn
class ReviewWorkflow:
    @workflow.init
    def __init__(self, inp: CaseInput) -> None:
        self._opener_filed = inp.carried is not None
        if inp.carried is not None:
            self.case = inp.carried
        else:
            info = workflow.info()
            self.case = CaseState(
                case_id=info.workflow_id, case_uid=info.first_execution_run_id,
                subject=inp.subject, state="screening", reports=[inp.report],
                opened_at=workflow.now(),
            )
            self._event(inp.report.reporter or inp.report.source.value, "opened",
                        f"{inp.report.source.value} report {inp.report.report_id}")
        self.lc = Lifecycle(self.case)

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        # Intake's search attributes come with the start request (and carry over a continue-as-
        # new); the ledger row waits for screening. Runs started before this wrote both here.
        if not workflow.patched("intake-attributes-set-at-start"):
            await self._commit()
        while self.case.state != "closed":
            await getattr(self, f"_in_{self.case.state}")()
            if self.case.state in WAITING and workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(CaseInput(subject=self.case.subject,
                                                   report=self.case.reports[0], carried=self.case))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.case

    # -- queries -------------------------------------------------------------------------------
    @workflow.query
    def snapshot(self) -> CaseState:
        return self.case

    @workflow.query
    def timeline(self) -> list[TimelineEvent]:
        return self.case.timeline

    # -- updates -------------------------------------------------------------------------------
    @workflow.update
    async def file_report(self, report: Report) -> CaseRef:
        """Join a report to this case; the same report id twice is recorded once."""
        if report.report_id == self.case.reports[0].report_id and not self._opener_filed:
            # The opener learns where its case went: wait for screening to route it.
            self._opener_filed = True
            await workflow.wait_condition(lambda: self.case.state != "screening")
            return self._ref("opened")
        if any(r.report_id == report.report_id for r in self.case.reports):
            return self._ref("duplicate")
        self.lc.fire("add_report")
        first_flag = report.source is Source.TRUSTED_FLAGGER and all(
            r.source is not Source.TRUSTED_FLAGGER for r in self.case.reports)
        self.case.reports.append(report)
        self._event(report.reporter or report.source.value, "report_joined",
                    f"{report.source.value} report {report.report_id}")
        if (first_flag and self.case.state in ("queued", "in_review")
                and workflow.patched("trusted-flagger-join-raises-priority")):
            self._raise_for_trusted_flagger()
        await self._commit()
        return self._ref("joined")

    def _raise_for_trusted_flagger(self) -> None:
        """DSA Art. 22: a trusted flagger's notice is handled first, also when it joins a case
        (screening already raised cases that a trusted flagger opened)."""
        case = self.case
        before, case.priority = case.priority, case.priority.raised()
        assert case.sla_deadline is not None
        case.sla_deadline = min(case.sla_deadline,
                                deadline(case.opened_at, case.sla_hours[case.priority]))
        self._event("intake", "reprioritised",
                    f"trusted flagger joined: {before.value} -> {case.priority.value}, "
                    f"SLA {case.sla_deadline:%Y-%m-%dT%H:%MZ}")

    def _ref(self, outcome: str) -> CaseRef:
        c = self.case
        return CaseRef(case_id=c.case_id, state=c.state, queue=c.queue, priority=c.priority,
                       outcome=outcome)

    @file_report.validator
    def _check_report(self, report: Report) -> None:
        self.lc.check("add_report")

    @workflow.update
    async def claim(self, req: ClaimRequest) -> CaseState:
        self.lc.fire("claim")
        self.case.assignee = req.reviewer
        self.case.lease_expires_at = workflow.now() + timedelta(minutes=req.lease_minutes)
        self._event(req.reviewer, "claimed", f"lease until {self.case.lease_expires_at:%H:%M:%SZ}")
        await self._commit()
        return self.case

    @claim.validator
    def _check_claim(self, req: ClaimRequest) -> None:
        self.lc.check("claim")

    @workflow.update
    async def decide(self, req: DecideRequest) -> CaseState:
        self.lc.fire("decide", req)
        self.case.decision = Decision(
            decided_by=req.reviewer, policy_ids=req.policy_ids, actions=req.actions,
            reason=req.reason, decided_at=workflow.now(), automated=False,
        )
        self.case.lease_expires_at = None
        self._event(req.reviewer, "decided", _describe(self.case.decision))
        await self._commit()
        return self.case

    @decide.validator
    def _check_decide(self, req: DecideRequest) -> None:
        self.lc.check("decide", req)

    # -- states --------------------------------------------------------------------------------
    async def _in_screening(self) -> None:
        s = await workflow.execute_activity_method(
            CaseActivities.screen_case,
            ScreenRequest(subject=self.case.subject, reports=self.case.reports), **_ACT)
        case = self.case
        case.hits, case.policies, case.pack_version = s.hits, s.policies, s.pack_version
        case.queue, case.priority, case.queue_lead, case.sla_hours = (
            s.queue, s.priority, s.queue_lead, s.sla_hours)
        found = "" if s.subject_found else "; the marketplace does not know this subject"
        self._event(ENGINE, "screened",
                    f"{len(s.hits)} hit(s) {', '.join(sorted({h.policy_id for h in s.hits}))}"
                    f"{found}")
        if s.auto:
            case.decision = Decision(
                decided_by=ENGINE, policy_ids=[s.auto.policy_id], actions=s.auto.actions,
                reason=s.auto.reason, decided_at=workflow.now(), automated=True)
            self.lc.fire("auto_action")
            self._event(ENGINE, "auto_actioned", _describe(case.decision))
        else:
            self.lc.fire("enqueue")
            case.sla_deadline = deadline(case.opened_at, case.sla_hours[case.priority])
            self._event(ENGINE, "queued", f"{case.queue} {case.priority.value}, "
                        f"SLA {case.sla_deadline:%Y-%m-%dT%H:%MZ}")
        await self._commit()

    async def _await_decision(self) -> None:
        """Wait for a command, a lease expiry or the SLA deadline, whichever comes first."""
        case = self.case
        due = [d for d in (case.sla_deadline, case.lease_expires_at) if d is not None]
        if not await self._timed_out_unchanged(min(due) if due else None):
            return
        now = workflow.now()
        if case.state == "in_review" and case.lease_expires_at and case.lease_expires_at <= now:
            self.lc.fire("expire_lease")
            self._event("sla-clock", "lease_expired", f"{case.assignee}'s claim lapsed")
            case.assignee, case.lease_expires_at = None, None
            await self._commit()
        if case.sla_deadline and case.sla_deadline <= now and case.state in ("queued",
                                                                              "in_review"):
            await self._breach_sla()

    async def _breach_sla(self) -> None:
        case = self.case
        self.lc.fire("breach_sla")
        case.breaches += 1
        case.sla_breached = True
        before = case.priority
        case.priority = before.raised()
        missed = case.sla_deadline
        case.sla_deadline = deadline(workflow.now(), case.sla_hours[case.priority])
        detail = (f"deadline {missed:%Y-%m-%dT%H:%MZ} missed (breach {case.breaches}); "
                  f"priority {before.value} -> {case.priority.value}; lead {case.queue_lead} "
                  "notified")
        if case.breaches >= 2:
            detail += "; second breach: escalation required"
        self._event("sla-clock", "sla_breached", detail)
        await self._commit()
        await self._notify(f"breach-{case.breaches}", case.queue_lead, "sla_breach",
                           f"Case {case.case_id} in {case.queue} missed its SLA: {detail}")

    async def _in_auto_actioned(self) -> None:
        self.lc.fire("enforce")
        await self._commit()

    async def _in_decided(self) -> None:
        self.lc.fire("enforce" if self.lc.model.has_actions() else "notify")
        await self._commit()

    async def _in_enforcing(self) -> None:
        case = self.case
        assert case.decision is not None
        done = {e.action for e in case.enforcement}
        for action in case.decision.actions:
            if action in done or action is Action.NO_ACTION:
                continue
            try:
                result = await workflow.execute_activity_method(
                    CaseActivities.apply_action,
                    ApplyRequest(case_id=case.case_id, subject=case.subject, action=action,
                                 idempotency_key=f"{case.case_uid}:{action.value}",
                                 reason=case.decision.reason), **_ENFORCE)
            except ActivityError as e:
                self._event("enforcer", "action_failed", f"{action.value}: {e.cause or e}")
                continue
            case.enforcement.append(result)
            self._event("enforcer", "enforced",
                        f"{action.value} on {result.target}: {result.detail}"
                        + ("" if result.applied else " (no second application)"))
        self.lc.fire("notify")
        await self._commit()

    async def _in_notifying(self) -> None:
        case = self.case
        assert case.decision is not None
        if self.lc.model.restricts():
            puid = puid_for(case.case_id, case.case_uid)
            sor = await workflow.execute_activity_method(
                CaseActivities.issue_statement, StatementRequest(case=case, puid=puid), **_ACT)
            case.statement_puid = puid
            receipt = await self._notify(
                "sor", f"seller-of:{case.subject}", "statement_of_reasons",
                f"We restricted {case.subject}: {case.decision.reason}. You may appeal until "
                f"{APPEAL_WINDOW.days} days after this notice.", sor)
            # The window runs on the workflow's clock from the moment delivery is confirmed
            # (the receipt's wall-clock time is kept in the outbox and the timeline).
            case.notice_delivered_at = workflow.now()
            case.appeal_deadline = case.notice_delivered_at + APPEAL_WINDOW
            self._event("notifier", "seller_notified",
                        f"statement {puid} delivered via {', '.join(receipt.channels)} at "
                        f"{receipt.delivered_at:%Y-%m-%dT%H:%M:%SZ}; appeal window until "
                        f"{case.appeal_deadline:%Y-%m-%d}")
        elif any(e.action is Action.WARN for e in case.enforcement):
            await self._notify("warning", f"seller-of:{case.subject}", "warning",
                               f"Warning about {case.subject}: {case.decision.reason}")
            self._event("notifier", "seller_warned", "")
        for i, report in enumerate(case.reports):
            if report.reporter and not report.source.is_automated:
                await self._notify(f"outcome-{i}", f"reporter:{report.reporter}", "outcome",
                                   f"Your report about {case.subject} was reviewed: "
                                   f"{', '.join(a.value for a in case.decision.actions)}.")
        if self.lc.model.restricts():
            self.lc.fire("open_appeal_window")
        else:
            self.lc.fire("close")
            case.closed_at = workflow.now()
        self._event("notifier", case.state, "")
        await self._commit()

    async def _in_appealable(self) -> None:
        case = self.case
        assert case.appeal_deadline is not None
        if not await self._timed_out_unchanged(case.appeal_deadline):
            return
        self.lc.fire("close")
        case.closed_at = workflow.now()
        self._event("sla-clock", "closed", "appeal window ended without an appeal")
        await self._commit()

    _in_queued = _in_in_review = _await_decision

    # -- helpers -------------------------------------------------------------------------------
    async def _timed_out_unchanged(self, until: datetime | None) -> bool:
        """Wait until the case changes (True: it did not) or `until` passes (durable timer)."""
        revision = self.case.revision
        timeout = None if until is None else max((until - workflow.now()).total_seconds(), 0)
        try:
            await workflow.wait_condition(lambda: self.case.revision != revision, timeout=timeout)
        except TimeoutError:
            return True
        return False

    def _event(self, actor: str, event: str, detail: str = "") -> None:
        seq = self.case.timeline[-1].seq + 1 if self.case.timeline else 1
        self.case.timeline.append(TimelineEvent(seq=seq, at=workflow.now(), actor=actor,
                                                event=event, detail=detail))
        self.case.revision = seq

    async def _commit(self) -> None:
        """Make the change visible: search attributes now, the ledger row through an activity."""
        workflow.upsert_search_attributes(search_attributes.updates(self.case))
        await workflow.execute_local_activity_method(
            CaseActivities.record_case, self.case,
            start_to_close_timeout=timedelta(seconds=10))

    async def _notify(self, key: str, recipient: str, kind: str, text: str,
                      statement: dict[str, object] | None = None) -> Receipt:
        return await workflow.execute_activity_method(
            CaseActivities.notify,
            Notification(message_id=f"{self.case.case_uid}-{key}", case_id=self.case.case_id,
                         recipient=recipient, kind=kind, text=text, statement=statement),
            **_ACT)


def _describe(d: Decision) -> str:
    policies = ", ".join(d.policy_ids) or "no policy"
    return f"{', '.join(a.value for a in d.actions)} under {policies}: {d.reason}"


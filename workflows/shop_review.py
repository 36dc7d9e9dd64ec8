"""ShopReviewWorkflow: every listing of one shop screened, one shop-level decision by a senior.

The shop's listings come from the marketplace a page at a time; each page is screened by the
policy pack in one activity, which files the hits on their review cases (opened or joined).
Between pages the review answers its progress query and may continue as new, so a shop of any
size fits. Then the seller's history is gathered and the review waits in its queue, under an
SLA, for a senior who did not ask for it: clear, warn, remove the hits, or suspend the shop. A
decision that acts is carried out by takedown jobs (paced, acted on once, reversible), which
tell the review when they are done.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from activities.shop_review import ShopReviewActivities
    from domain.authority import why_not_command, why_not_fresh
    from domain.core import Actor, Event, Priority
    from domain.engine import Lifecycle
    from domain.people import Role
    from domain.shop_review.commands import SHOP_COMMANDS as COMMANDS
    from domain.shop_review.lifecycle import SHOP_REVIEW
    from domain.shop_review.models import (
        MAX_FINDINGS_SHOWN,
        STRIKES,
        EnforcementDone,
        HistoryRequest,
        ScreenPage,
        SellerHistory,
        ShopDecision,
        ShopEnforcement,
        ShopOutcome,
        ShopReviewInput,
        ShopReviewState,
        ShopReviewSummary,
        review_summary,
    )
    from domain.sla import deadline
    from workflows.parts.commands import command
    from workflows.parts.journal import Journal
    from workflows.parts.loop import run_states
    from workflows.parts.options import ACT, LONG
    from workflows.parts.other_updates import OtherUpdates
    from workflows.parts.outbound import Outbound, why
    from workflows.parts.queueing import Queueing
    from workflows.parts.reads import Reads
    from workflows.parts.repairs import Repairs
    from workflows.parts.trust import carried, refuse_unsealed_start, sealed_signal

MAX_EVENTS = 5_000


@workflow.defn
class ShopReviewWorkflow(Reads, Repairs, OtherUpdates):
    RENAMED = {"decide": ("decide_shop", ShopDecision)}

    @workflow.init
    def __init__(self, inp: ShopReviewInput) -> None:
        info = workflow.info()
        carry = carried(inp.carried)
        self.review = carry or ShopReviewState(
            case_id=info.workflow_id, case_uid=info.first_execution_run_id,
            subject=inp.subject, state=SHOP_REVIEW.initial, opened_at=workflow.now(),
            request=inp.request)
        self.lc = Lifecycle(SHOP_REVIEW, self.review)
        self.journal = Journal(self.review, CaseActivities.record_case, _details)
        self.out = Outbound(self.journal, CaseActivities.notify)
        self.queueing = Queueing(self.review, self.lc, self.journal, self.out)
        if carry is None:
            self.journal.event(inp.request.requester, Event.OPENED,
                               f"shop review of {inp.subject}"
                               + (f": {inp.request.reason}" if inp.request.reason else ""))

    @workflow.run
    async def run(self, inp: ShopReviewInput) -> ShopReviewSummary:
        refuse_unsealed_start(inp)
        await run_states(self, self.review, final=SHOP_REVIEW.final,
                         waiting=SHOP_REVIEW.waiting, settled=self._settled, max_events=MAX_EVENTS,
                         carry=lambda r: ShopReviewInput(review_id=r.case_id, subject=r.subject,
                                                         request=r.request, carried=r))
        await self._settled()
        return review_summary(self.review)

    # -- queries -------------------------------------------------------------------------------
    @workflow.query
    def progress(self) -> ShopReviewSummary:
        return review_summary(self.review)

    @workflow.query
    def snapshot(self) -> ShopReviewState:
        return self.review

    # -- messages ------------------------------------------------------------------------------
    @command(COMMANDS["decide"])
    async def decide_shop(self, req: ShopDecision) -> ShopReviewSummary:
        self.lc.fire("decide", req)
        review = self.review
        review.decision, review.decided_at = req, workflow.now()
        review.sla_deadline = None
        self.journal.event(req.decider, Event.DECIDED, f"{req.outcome.value}: {req.reason}")
        if review.state in SHOP_REVIEW.final:
            review.closed_at = workflow.now()
            self.journal.event(req.decider, Event(review.state))
        await self.journal.commit()
        return review_summary(review)

    @workflow.signal
    async def enforcement_finished(self, done: EnforcementDone) -> None:
        """A takedown job carrying out the decision has finished (once per job)."""
        review = self.review
        if not sealed_signal(done) or any(j.job_id == done.job_id for j in review.jobs):
            return  # (a job may finish before the activity that started it has answered)
        review.jobs.append(done)
        self.journal.event(Actor.ENFORCER, Event.ENFORCED,
                           f"job {done.job_id} {done.state}: done {done.done}, failed "
                           f"{done.failed}, skipped {done.skipped}")
        await self.journal.commit()

    # -- states --------------------------------------------------------------------------------
    async def _in_screening(self) -> None:
        """One page, then back to the loop (which may continue as new)."""
        review = self.review
        if (review.settings is None and workflow.patched("shop-review-requester-checked")
                and (refusal := self._refusal())):
            self.lc.fire("abandon")
            review.closed_at, review.refusal = workflow.now(), refusal
            self.journal.event(Actor.INTAKE, Event.REFUSED, refusal)
            await self.journal.commit()
            return
        if review.settings is None:
            review.settings = await self.out.call(
                "the marketplace", ShopReviewActivities.shop_review_settings,
                review.request.shop_id, ACT)
            s = review.settings
            review.queue, review.queue_lead = s.queue, s.queue_lead
            review.dependency_alert_minutes = s.dependency_alert_minutes
            if not s.found:
                self.lc.fire("abandon")
                review.closed_at = workflow.now()
                self.journal.event(Actor.INTAKE, Event.CLOSED,
                                   f"the marketplace has no shop {review.request.shop_id}")
                await self.journal.commit()
                return
        try:
            page = await self.out.call(
                "the marketplace", ShopReviewActivities.screen_page,
                ScreenPage(review_id=review.case_id, review_uid=review.case_uid,
                           shop_id=review.request.shop_id, after=review.cursor,
                           limit=review.settings.page_size), LONG)
        except ActivityError as e:  # the marketplace says for good it cannot list the shop
            self.lc.fire("abandon")
            review.closed_at = workflow.now()
            self.journal.event(Actor.POLICY_ENGINE, Event.CLOSED,
                               f"screening stopped after {review.progress.screened} "
                               f"listing(s): {why(e)}")
            await self.journal.commit()
            return
        p = review.progress
        p.pages, p.screened, p.hits = (p.pages + 1, p.screened + page.screened,
                                       p.hits + len(page.findings))
        for f in page.findings:
            review.hits.setdefault(f.policy_id, []).append(f.subject)
        review.findings.extend(page.findings[:MAX_FINDINGS_SHOWN - len(review.findings)])
        review.cursor = page.next_after
        if page.next_after is None:
            await self._screened()
        await self.journal.commit()

    def _refusal(self) -> str | None:
        """Why the review must not start: not sealed by casework, or asked for by someone
        other than ops (the strikes' own reviews are casework's)."""
        req = self.review.request
        if reason := why_not_fresh(req.issued_at, workflow.info().workflow_start_time):
            return reason
        if req.requester == STRIKES:
            return None if req.sealed else "the request was not sealed by casework"
        return why_not_command(req, Role.OPS, None, self.review.case_id)

    async def _screened(self) -> None:
        review = self.review
        assert review.settings is not None
        ask = HistoryRequest(seller_id=review.settings.seller_id,
                             window_days=review.settings.strike_window_days)
        try:
            review.history = await self.out.call(
                "the marketplace", ShopReviewActivities.seller_history, ask, ACT)
        except ActivityError as e:  # the senior decides without the marketplace's count
            review.history = SellerHistory(seller_id=ask.seller_id, window_days=ask.window_days)
            self.journal.event(Actor.POLICY_ENGINE, Event.NOTE_ADDED,
                               f"the seller's history is incomplete: {why(e)}")
        self.lc.fire("screened")
        hours = review.settings.decision_sla_hours
        review.sla_hours = {p: hours for p in Priority}
        review.sla_deadline = deadline(workflow.now(), hours)
        h = review.history
        self.journal.event(Actor.POLICY_ENGINE, Event.SCREENED,
                           f"{review.progress.screened} listing(s), {review.progress.hits} "
                           f"hit(s) in {len(review.hits)} polic(ies); seller {h.seller_id}: "
                           f"{h.strikes} upheld violation(s) in {h.window_days:g} days, "
                           f"{h.prior_violations} on the marketplace")
        self.journal.event(Actor.INTAKE, Event.QUEUED,
                           f"a senior decides by {review.sla_deadline:%Y-%m-%dT%H:%MZ}")

    async def _in_awaiting_decision(self) -> None:
        await self.queueing.wait()

    async def _in_enforcing(self) -> None:
        review, decision = self.review, self.review.decision
        assert decision is not None
        if not review.job_ids:
            review.job_ids = await self.out.call(
                "the ledger", ShopReviewActivities.start_enforcement,
                ShopEnforcement(review_id=review.case_id, review_uid=review.case_uid,
                                shop=review.subject, outcome=decision.outcome,
                                hits=review.hits if decision.outcome is ShopOutcome.REMOVE_HITS
                                else {}, policy_ids=decision.policy_ids or review.policy_ids,
                                reason=decision.reason, decider=decision.decider,
                                requester=review.request.requester), ACT)
            self.journal.event(Actor.ENFORCER, Event.EXECUTING,
                               f"takedown job(s) {', '.join(review.job_ids)}")
            await self.journal.commit()
        await workflow.wait_condition(
            lambda: {j.job_id for j in review.jobs} >= set(review.job_ids))
        self.lc.fire("finish")
        review.closed_at = workflow.now()
        self.journal.event(Actor.ENFORCER, Event(review.state),
                           f"{sum(j.done for j in review.jobs)} done, "
                           f"{sum(j.failed for j in review.jobs)} failed, "
                           f"{sum(j.skipped for j in review.jobs)} skipped")
        await self.journal.commit()


def _details(review: ShopReviewState) -> str:
    p = review.progress
    line = (f"**{review.state}** · shop {review.request.shop_id} · {p.screened} screened · "
            f"{p.hits} hit(s)")
    if review.decision:
        line += f" · decided {review.decision.outcome.value} by {review.decision.decider}"
    if review.waiting_on:
        line += f"\n\nwaiting on {review.waiting_on}"
    return line

"""Shop reviews' activities: the shop's settings, a page of its listings screened (hits filed on
their review cases), the seller's history, the decision started as takedown jobs, and the strikes
that start a review by themselves. Each is idempotent: a retried page files the same reports
(duplicates to the cases), a retried start joins the jobs or the review it started."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy

from activities.case_activities import marketplace_failure
from activities.intake import file_report
from config.pack_file import PackFile
from domain.core import Action, Report, Source, Subject, SubjectKind, case_id_for
from domain.shop_review.models import (
    STRIKES,
    Finding,
    HistoryRequest,
    PageResult,
    ScreenPage,
    SellerHistory,
    ShopEnforcement,
    ShopOutcome,
    ShopReviewInput,
    ShopReviewRequest,
    ShopReviewSettings,
    Strike,
    StrikeResult,
    shop_review_id,
)
from domain.takedown.models import TakedownInput, TakedownRequest
from ledger.store import Ledger
from marketplace.base import ListingPage, Marketplace, MarketplaceError, SubjectNotFound


class ShopReviewActivities:
    def __init__(self, ledger: Ledger, marketplace: Marketplace, pack: PackFile,
                 client: Client, task_queue: str, case_prefix: str) -> None:
        self.ledger, self.marketplace, self.pack = ledger, marketplace, pack
        self.client, self.task_queue, self.case_prefix = client, task_queue, case_prefix

    @activity.defn
    def shop_review_settings(self, shop_id: str) -> ShopReviewSettings:
        pack = self.pack.get()
        cfg = pack.shop_reviews
        settings = ShopReviewSettings(
            page_size=cfg.page_size, decision_sla_hours=cfg.decision_sla_hours,
            queue=cfg.queue, queue_lead=pack.queues[cfg.queue].lead,
            strike_window_days=cfg.strike_window_days,
            dependency_alert_minutes=pack.dependency_alert_minutes)
        try:
            shop = self.marketplace.facts(Subject(kind=SubjectKind.SHOP, id=shop_id))
        except SubjectNotFound:
            return settings.model_copy(update={"found": False})
        except MarketplaceError as e:
            raise marketplace_failure(e) from None
        return settings.model_copy(update={"seller_id": shop.seller_id, "shop_name": shop.title})

    @activity.defn
    async def screen_page(self, page: ScreenPage) -> PageResult:
        """One page of the shop's listings through the policy pack; each active listing it hits
        is filed (an internal report naming the review) on its review case, opened or joined."""
        activity.heartbeat(page.after)
        listings = await asyncio.to_thread(self._listings, page)
        pack = self.pack.get()
        findings: list[Finding] = []
        for facts in listings.listings:
            hits = pack.screen(facts, []).hits if facts.status == "active" else []
            if not hits:
                continue
            best, subject = hits[0], Subject(kind=SubjectKind.LISTING, id=facts.id)
            report = Report(report_id=f"{page.review_id}:{page.review_uid[:8]}",
                            source=Source.INTERNAL,
                            text=f"shop review {page.review_id}: {best.evidence}",
                            policy_hint=best.policy_id, received_at=datetime.now(UTC))
            try:
                ref = await file_report(self.client, case_id_for(subject, self.case_prefix),
                                        subject, report, self.task_queue)
                case_id = ref.case_id
            except WorkflowUpdateFailedError as e:  # the case refused it: the finding stands
                case_id = f"(not filed: {e.cause or e})"
            findings.append(Finding(subject=subject, policy_id=best.policy_id, rule=best.rule,
                                    score=best.score, evidence=best.evidence, case_id=case_id))
            activity.heartbeat(facts.id)
        return PageResult(screened=len(listings.listings), findings=findings,
                          next_after=listings.next_after)

    def _listings(self, page: ScreenPage) -> ListingPage:
        try:
            return self.marketplace.shop_listings(page.shop_id, page.after, page.limit)
        except MarketplaceError as e:
            raise marketplace_failure(e) from None

    @activity.defn
    def seller_history(self, req: HistoryRequest) -> SellerHistory:
        try:
            seller = self.marketplace.facts(Subject(kind=SubjectKind.SELLER, id=req.seller_id))
        except MarketplaceError as e:
            raise marketplace_failure(e) from None
        recent = self.ledger.strikes(req.seller_id,
                                     datetime.now(UTC) - timedelta(days=req.window_days))
        return SellerHistory(seller_id=req.seller_id,
                             prior_violations=seller.seller_prior_violations,
                             strikes=len(recent), window_days=req.window_days,
                             recent_cases=recent[-20:])

    @activity.defn
    async def start_enforcement(self, req: ShopEnforcement) -> list[str]:
        """The decision as takedown jobs (planned in the ledger, started once each): the
        hits removed one job per policy, or the shop warned or suspended."""
        if req.outcome is ShopOutcome.REMOVE_HITS:
            jobs = [(policy, Action.REMOVE, subjects, [policy])
                    for policy, subjects in sorted(req.hits.items())]
        else:
            assert req.outcome.action is not None
            jobs = [(req.outcome.value, req.outcome.action, [req.shop],
                     req.policy_ids or sorted(req.hits))]
        job_ids = []
        for suffix, action, subjects, policy_ids in jobs:
            job_id = f"{req.review_id}-{req.review_uid[:8]}-{suffix}"
            await asyncio.to_thread(self.ledger.put_takedown_items, job_id, subjects,
                                    req.decider)
            request = TakedownRequest(
                action=action, policy_ids=policy_ids, reason=req.reason, requester=req.decider,
                items=len(subjects), kinds=sorted({s.kind for s in subjects}),
                shop_review_id=req.review_id,
                parties={"decided": [req.decider], "asked for": [req.requester]},
                issued_at=datetime.now(UTC))
            await self.client.start_workflow(
                "TakedownWorkflow", TakedownInput(job_id=job_id, subject=subjects[0],
                                                  request=request),
                id=job_id, task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=f"takedown job for shop review {req.review_id}: "
                               f"{action.value} on {len(subjects)} subject(s)")
            job_ids.append(job_id)
            activity.heartbeat(job_id)
        return job_ids

    @activity.defn
    async def record_strike(self, strike: Strike) -> StrikeResult:
        """Count the seller's upheld violation; the strike that is the pack's threshold within
        its window (counted up to this strike, so one of several recorded at once) starts the
        shop's review (or joins its open one)."""
        cfg = self.pack.get().shop_reviews
        now = datetime.now(UTC)
        recent = await asyncio.to_thread(self.ledger.put_strike, strike,
                                         timedelta(days=cfg.strike_window_days))
        result = StrikeResult(strikes=len(recent), threshold=cfg.strike_threshold)
        if len(recent) != cfg.strike_threshold or not strike.shop_id:
            return result  # only the strike that crosses the threshold starts a review
        review_id = shop_review_id(strike.shop_id, self.case_prefix)
        request = ShopReviewRequest(
            shop_id=strike.shop_id, requester=STRIKES, issued_at=now,
            reason=f"{len(recent)} upheld violations of seller {strike.seller_id} within "
                   f"{cfg.strike_window_days:g} days: {', '.join(recent[-10:])}")
        await self.client.start_workflow(
            "ShopReviewWorkflow", ShopReviewInput(
                review_id=review_id, subject=Subject(kind=SubjectKind.SHOP, id=strike.shop_id),
                request=request),
            id=review_id, task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=f"shop review of shop:{strike.shop_id} (strike threshold)")
        return result.model_copy(update={"review_id": review_id})

    @activity.defn
    def overturn_strike(self, case_uid: str) -> None:
        self.ledger.overturn_strike(case_uid)

    def all(self) -> list[object]:
        return [self.shop_review_settings, self.screen_page, self.seller_history,
                self.start_enforcement, self.record_strike, self.overturn_strike]

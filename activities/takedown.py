"""Takedown jobs' activities: a batch of items acted on (or reversed) at a paced rate, each at
most once; the takedown recorded on the subjects' open review cases; one notice per seller; an
authority's completion report.

A batch reads its items from the ledger and writes each one's outcome back before the next;
the marketplace key is the job's and the subject's, so a batch retried after a crash finds what
it already did (the ledger row, or the marketplace's "already applied") and never acts twice.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError

from config import metrics
from config.pack_file import PackFile
from domain.core import Decision, EnforcementResult, Report, Source, TakedownItem
from domain.messages import MessageKind
from domain.outcomes import label
from domain.review.models import StatementRequest
from domain.statement import build_statement, puid_for
from domain.takedown.models import (
    BatchRequest,
    BatchResult,
    ItemStatus,
    JobNotice,
    JobPlan,
    TakedownNote,
    TakedownSettings,
    order_citation,
)
from ledger.store import Ledger
from marketplace.base import Marketplace, MarketplaceError

ATTEMPTS = 3  # per item, for answers that may pass; then the item is reported failed
_BACKOFF_S = (0.2, 0.5, 1.0)


class TakedownActivities:
    def __init__(self, ledger: Ledger, marketplace: Marketplace, pack: PackFile,
                 client: Client) -> None:
        self.ledger, self.marketplace, self.pack = ledger, marketplace, pack
        self.client = client

    @activity.defn
    def job_settings(self, plan: JobPlan) -> TakedownSettings:
        """The pack's settings for a job, with what the engine's four-eyes rule needs: the
        authorities the pack knows, and the items of the requester's other jobs in the pack's
        split window (a job split in parts waits like the whole)."""
        pack = self.pack.get()
        since = datetime.now(UTC) - timedelta(hours=pack.takedowns.split_window_hours)
        recent = self.ledger.requested_items(plan.requester, since, besides=plan.job_id)
        return self.takedown_settings(plan.policy_ids).model_copy(update={
            "four_eyes": True, "recent_items": recent,
            "known_authorities": sorted(pack.authorities)})

    @activity.defn
    def takedown_settings(self, policy_ids: list[str]) -> TakedownSettings:
        """Runs from before `four-eyes-jobs` (and `job_settings`) read these."""
        pack = self.pack.get()
        cfg = pack.takedowns
        return TakedownSettings(
            approval_above=cfg.approval_above, approval_sla_hours=cfg.approval_sla_hours,
            rate_per_s=cfg.rate_per_s, batch_size=cfg.batch_size,
            reversible_days=cfg.reversible_days,
            queue_lead=pack.queues[cfg.queue].lead,
            citations=[pack.by_id[p].ref() for p in policy_ids if p in pack.by_id],
            pack_version=pack.version, dependency_alert_minutes=pack.dependency_alert_minutes)

    @activity.defn
    def act_on_batch(self, req: BatchRequest) -> BatchResult:
        """Act on (or reverse) the batch's items at the job's rate, heartbeating each; the
        result is counted from the ledger, so a retried batch counts exactly."""
        until = req.after_seq + req.size
        wanted = ItemStatus.DONE if req.reverse else ItemStatus.PENDING
        items = self.ledger.takedown_items(req.job_id, req.after_seq, until, status=wanted)
        interval, next_at = 1.0 / req.rate_per_s, time.monotonic()
        counted = (req.action.value, self.pack.get().takedowns.queue, label(req.policy_ids,
                                                                             [req.action]))
        for item in items:
            next_at = max(next_at, time.monotonic())
            while (wait := next_at - time.monotonic()) > 0:  # paced, heartbeating while slow
                time.sleep(min(wait, 5.0))
                activity.heartbeat(item.seq)
            next_at += interval
            self._one(req, item, counted)
        counts = self.ledger.takedown_counts(req.job_id, req.after_seq, until)
        last = max((i.seq for i in self.ledger.takedown_items(req.job_id, req.after_seq, until)),
                   default=req.after_seq)
        return BatchResult(last_seq=last, done=counts.get(ItemStatus.DONE, 0),
                           failed=counts.get(ItemStatus.FAILED, 0),
                           skipped=counts.get(ItemStatus.SKIPPED, 0),
                           reversed=counts.get(ItemStatus.REVERSED, 0),
                           reversal_failed=counts.get(ItemStatus.REVERSAL_FAILED, 0),
                           exhausted=last < until)

    def _one(self, req: BatchRequest, item: TakedownItem, counted: tuple[str, str, str]) -> None:
        """Act on (or reverse) one item; an action landed or failed is counted as `counted`
        (its action, queue and policy)."""
        key = f"{req.job_uid}:{item.subject}:{req.action.value}"
        for attempt in range(ATTEMPTS):
            activity.heartbeat(item.seq)  # each marketplace call is bounded by its timeout
            try:
                if req.reverse:
                    target = self.marketplace.resolve(item.subject, req.action)
                    done = self.marketplace.reverse(target, req.action, f"{key}:reversal",
                                                    req.reason)
                    self.ledger.set_takedown_item(req.job_id, item.seq, ItemStatus.REVERSED,
                                                  done.detail)
                    return
                facts = self.marketplace.facts(item.subject)
                activity.heartbeat(item.seq)
                target = self.marketplace.resolve(item.subject, req.action)
                done = self.marketplace.apply(target, req.action, key, req.reason)
            except MarketplaceError as e:
                error = " ".join(str(e).split())
                if req.reverse and (e.final or attempt == ATTEMPTS - 1):
                    # The item stays on record as acted on, with why it is still in force.
                    self.ledger.set_takedown_item(req.job_id, item.seq,
                                                  ItemStatus.REVERSAL_FAILED, error)
                    return
                if e.final:
                    self.ledger.set_takedown_item(req.job_id, item.seq, ItemStatus.SKIPPED,
                                                  error)
                    return
                if attempt == ATTEMPTS - 1:
                    self.ledger.set_takedown_item(req.job_id, item.seq, ItemStatus.FAILED, error)
                    metrics.action(*counted, applied=False)
                    return
                time.sleep(_BACKOFF_S[attempt])
                continue
            if req.action.restricts:  # before the item is done: a crash between the two
                self._state_reasons(req, item, facts, done.applied)  # states it again (once)
            self.ledger.set_takedown_item(req.job_id, item.seq, ItemStatus.DONE, done.detail,
                                          seller_id=facts.seller_id)
            metrics.action(*counted, applied=True)
            return

    def _state_reasons(self, req: BatchRequest, item: TakedownItem, facts: Any,
                       applied: bool) -> None:
        """Each restricted subject's statement of reasons; an authority's order is named as
        the source of the notice."""
        now = datetime.now(UTC)
        order = req.order
        reason = req.reason + (f" (order {order.reference} of {order.authority}: "
                               f"{order.legal_ground})" if order else "")
        request = StatementRequest(
            case_id=req.job_id, puid=puid_for(req.job_id, str(item.seq)), subject=item.subject,
            decision=Decision(decided_by=req.requester, policy_ids=req.policy_ids,
                              actions=[req.action], reason=reason, decided_at=now,
                              automated=False, citations=req.citations,
                              pack_version=req.pack_version),
            enforcement=[EnforcementResult(action=req.action, target=item.subject,
                                           applied=applied, detail="", applied_at=now)],
            opener=Report(report_id=req.job_id, received_at=now,
                          source=Source.LAW_ENFORCEMENT if order else Source.INTERNAL,
                          reporter=order.authority if order else None),
            had_hits=False, facts=facts)
        citation = req.citations[0] if req.citations else order_citation(order)
        if citation is None:
            return  # a job of an action that restricts nothing
        statement = build_statement(request, citation, facts, now.date())
        self.ledger.put_statement(request.puid, req.job_id,
                                  statement.model_dump(mode="json", exclude_none=True))

    @activity.defn
    async def record_on_cases(self, note: TakedownNote) -> int:
        """Tell the subjects' open review cases that this job acted on them (a signal each)."""
        told = 0
        status = ItemStatus.REVERSED if note.reversed else ItemStatus.DONE
        items = self.ledger.takedown_items(note.job_id, note.after_seq, note.until_seq,
                                           status=status)
        for item in items:
            for case_id in self.ledger.open_review_cases(item.subject):  # follow-ups too
                try:
                    await self.client.get_workflow_handle(case_id).signal(
                        "record_takedown", note.model_copy(update={"subject": item.subject}))
                    told += 1
                except RPCError:
                    continue  # the case has just ended: nothing to record on
            activity.heartbeat(item.seq)
        return told

    @activity.defn
    def notify_sellers(self, job: JobNotice) -> int:
        """One notice per seller for the whole job, listing the subjects restricted."""
        sellers = self.ledger.takedown_sellers(job.job_id, ItemStatus.DONE, sample=50)
        for seller, count, subjects in sellers:
            activity.heartbeat(seller)
            address = self.marketplace.seller_contact(seller) if seller else "unknown"
            listed = ", ".join(str(s) for s in subjects)
            more = f" and {count - len(subjects)} more" if count > len(subjects) else ""
            self.ledger.put_message(
                f"{job.job_uid}-seller-{seller or 'unknown'}", job.job_id, "outbox", address,
                MessageKind.STATEMENT_OF_REASONS,
                f"{job.action.value} on {count} of your subjects: {listed}{more}. "
                f"{job.reason} Each has its statement of reasons; you may appeal within six "
                "months.")
        return len(sellers)

    @activity.defn
    def report_to_authority(self, job: JobNotice) -> int:
        """An authority's order: what was done, when, and what could not be and why, item by
        item, to the authority's channel."""
        assert job.order is not None
        lines = [f"{i.seq}\t{i.subject}\t{i.status}\t{i.detail}"
                 for i in self.ledger.takedown_items(job.job_id)]
        self.ledger.put_message(
            f"{job.job_uid}-report", job.job_id, "outbox", f"authority:{job.order.authority}",
            MessageKind.ORDER_REPORT,
            f"Order {job.order.reference} ({job.order.legal_ground}), due "
            f"{job.order.deadline:%Y-%m-%d}: {job.action.value}, finished "
            f"{datetime.now(UTC):%Y-%m-%dT%H:%MZ}.\n" + "\n".join(lines))
        return len(lines)

    def all(self) -> list[Any]:
        return [self.job_settings, self.takedown_settings, self.act_on_batch, self.record_on_cases,
                self.notify_sellers, self.report_to_authority]


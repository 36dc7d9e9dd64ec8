"""Activities of the review workflow. Each is idempotent: retried, it never acts twice."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import webhook
from config import metrics
from config.pack_file import PackFile
from domain.appeal.models import AppealSettings
from domain.core import Action, ApplyRequest, EnforcementResult, Priority
from domain.messages import (
    MessageKind,
    Notification,
    Receipt,
    outcome_message_id,
    reporter_address,
    seller_subject,
)
from domain.qa.config import QA_QUEUE
from domain.qa.models import QaPlan, QaPlanRequest
from domain.qa.sampling import draw
from domain.record import LedgerRecord
from domain.review.models import (
    OverflowOutcome,
    OverflowReport,
    Screening,
    ScreenRequest,
    StatementRequest,
)
from domain.statement import build_statement
from ledger.store import Ledger
from marketplace.base import ApplyResult, Marketplace, MarketplaceError, SubjectNotFound

P = ParamSpec("P")
R = TypeVar("R")


def _bad_data(message: str) -> ApplicationError:
    return ApplicationError(message, type="InvalidInput", non_retryable=True)


def marketplace_failure(e: MarketplaceError) -> ApplicationError:
    """A marketplace error for Temporal, by name and on one line: the final ones
    (SubjectNotFound, ActionRefused) non-retryable, MarketplaceUnavailable retryable."""
    return ApplicationError(" ".join(str(e).split()), type=type(e).__name__,
                            non_retryable=e.final)


def _marketplace_errors(fn: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except MarketplaceError as e:
            raise marketplace_failure(e) from None
    return wrapper


class CaseActivities:
    def __init__(self, ledger: Ledger, marketplace: Marketplace, pack: PackFile,
                 webhook_url: str = "", webhook_secret: str = "", qa_key: bytes = b"") -> None:
        self.qa_key = qa_key  # the QA draw's key: only the workers hold it
        self.ledger = ledger
        self.marketplace = marketplace
        self.pack = pack
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret

    @activity.defn
    @_marketplace_errors
    def screen_case(self, req: ScreenRequest) -> Screening:
        """Run the policy pack over the subject. A subject the marketplace will not describe
        (unknown to it, or its lookup refused for good) is still screened, without hits, so a
        person looks at the report: nothing accepted is lost."""
        pack = self.pack.get()
        if req.facts is not None:  # a calibration case: described by its file
            return pack.screen(req.facts, req.reports, req.queue)
        activity.heartbeat("asking the marketplace")
        try:
            facts = self.marketplace.facts(req.subject)
        except MarketplaceError as e:
            if not e.final:
                raise
            why = ("the marketplace does not know this subject" if isinstance(e, SubjectNotFound)
                   else f"the marketplace refused to describe it: {' '.join(str(e).split())}")
            return pack.screen(None, req.reports).model_copy(update={"facts_missing": why})
        return pack.screen(facts, req.reports)

    @activity.defn
    def record_case(self, record: LedgerRecord) -> bool:
        """Write the record's row and new events; the events new to the ledger are counted
        (`config.metrics`): a retried write, or one that repeats events an overlapping commit
        wrote, counts nothing twice."""
        prior = self.ledger.record_new(record)
        if prior is not None:
            metrics.recorded(record, since=prior)
        return prior is not None

    @activity.defn
    @_marketplace_errors
    def apply_action(self, req: ApplyRequest) -> EnforcementResult:
        """Heartbeats between marketplace calls: its heartbeat timeout exceeds a call's."""
        return self._act(req, self.marketplace.apply)

    @activity.defn
    @_marketplace_errors
    def reverse_action(self, req: ApplyRequest) -> EnforcementResult:
        """Undo an action that landed (an appeal overturned it): reinstate, lift; once per key."""
        return self._act(req, self.marketplace.reverse)

    def _act(self, req: ApplyRequest, act: Callable[..., ApplyResult]) -> EnforcementResult:
        activity.heartbeat("resolving target")
        target = self.marketplace.resolve(req.subject, req.action)
        activity.heartbeat(f"{act.__name__} {req.action.value} on {target}")
        result = act(target, req.action, req.idempotency_key, req.reason)
        return EnforcementResult(action=req.action, target=result.target, applied=result.applied,
                                 detail=result.detail, applied_at=datetime.now(UTC))

    @activity.defn
    @_marketplace_errors
    def issue_statement(self, req: StatementRequest) -> dict[str, Any]:
        """Build the statement of reasons from the decision's pinned citation, validate it
        against the DSA API rules, store it. Decisions from before citations were pinned, and
        retries that ask for it (`repin`: the pack was fixed), take the current pack's version
        of the policy; a policy gone from it needs a person."""
        activity.heartbeat("stating the reasons")
        citation = next(iter(req.decision.citations), None)
        if req.repin or citation is None or not citation.citable:
            pack = self.pack.get()
            cited = [p for p in req.decision.policy_ids if p in pack.by_id]
            if not cited:
                raise _bad_data(f"the decision cites no policy of the current pack "
                                f"({', '.join(req.decision.policy_ids) or 'none'})")
            citation = pack.get(cited[0]).ref()
        facts = req.facts or self.marketplace.facts(req.subject)
        applied = min((e.applied_at for e in req.enforcement), default=datetime.now(UTC))
        try:
            sor = build_statement(req, citation, facts, applied.date())
        except ValueError as e:
            raise _bad_data(f"statement of reasons rejected: {e}") from None
        body = sor.model_dump(mode="json", exclude_none=True)
        self.ledger.put_statement(req.puid, req.case_id, body)
        return body

    @activity.defn
    def appeal_settings(self, appeal_id: str) -> AppealSettings:
        """What the pack says for appeals: their queue's lead and SLA, where appellants may
        turn next (DSA Art. 21)."""
        pack = self.pack.get()
        queue = pack.queues[pack.appeals_queue]
        return AppealSettings(queue_lead=queue.lead,
                              sla_hours={p: queue.sla(p) for p in Priority},
                              dispute_settlement=pack.dispute_settlement,
                              dependency_alert_minutes=pack.dependency_alert_minutes,
                              approval_sla_hours=pack.approval_sla_hours)

    @activity.defn
    def qa_plan(self, req: QaPlanRequest) -> QaPlan:
        """What a decision's QA draw needs besides the rates pinned at screening: its number
        (keyed by the workers' secret), how many decisions the decider has made (their first
        ones are checked more), their agreement over their last checks (drift), the QA
        queue's lead."""
        pack = self.pack.get()
        queue = pack.queues.get(QA_QUEUE)
        return QaPlan(drawn=draw(req.case_uid, self.qa_key),
                      nth=self.ledger.decisions_by(req.decider),
                      agreement=self.ledger.agreement(req.decider, req.drift_window),
                      queue_lead=queue.lead if queue else "")

    @activity.defn
    def store_overflow_report(self, overflow: OverflowReport) -> int:
        """Keep a report beyond the case's cap in the ledger; how many it holds for the case."""
        return self.ledger.put_overflow_report(overflow.case_uid, overflow.case_id,
                                               overflow.report)

    @activity.defn
    def notify_overflow_reporters(self, outcome: OverflowOutcome) -> int:
        """Tell each reporter of the ledger-held reports the outcome, once per reporter (the
        message id is the one the case itself would use for that reporter). Progress is in
        the heartbeat, so a retry resumes where the last attempt stopped."""
        details = activity.info().heartbeat_details
        start = details[0] if details and isinstance(details[0], int) else 0
        reporters = self.ledger.overflow_reporters(outcome.case_uid)
        for i, (reporter_key, reporter) in enumerate(reporters[start:], start):
            self.notify(Notification(
                message_id=outcome_message_id(outcome.case_uid, reporter_key),
                case_id=outcome.case_id, recipient=reporter_address(reporter),
                kind=MessageKind.OUTCOME,
                text=outcome.text))
            activity.heartbeat(i + 1)
        return len(reporters)

    @activity.defn
    @_marketplace_errors
    def notify(self, note: Notification) -> Receipt:
        """Land the message in the outbox (once), then post it to the webhook if configured."""
        recipient = note.recipient
        if subject := seller_subject(recipient):
            activity.heartbeat("resolving the seller")
            seller = self.marketplace.resolve(subject, Action.SUSPEND_SELLER)
            activity.heartbeat("asking for the seller's contact")
            recipient = self.marketplace.seller_contact(seller.id)
        self.ledger.put_message(note.message_id, note.case_id, "outbox", recipient, note.kind,
                                note.text)
        channels = ["outbox"]
        if self.webhook_url:
            activity.heartbeat("posting to the webhook")
            payload = {**note.model_dump(mode="json"), "address": recipient}
            webhook.post(self.webhook_url, self.webhook_secret, note.message_id, payload)
            channels.append("webhook")
        return Receipt(message_id=note.message_id, delivered_at=datetime.now(UTC),
                       channels=channels)

    def all(self) -> list[Any]:
        return [self.screen_case, self.record_case, self.apply_action, self.reverse_action,
                self.issue_statement, self.notify, self.store_overflow_report,
                self.notify_overflow_reporters, self.appeal_settings, self.qa_plan]

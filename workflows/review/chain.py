"""A review case's restriction chain, once an action is decided: enforcement (each action once,
never one already in force), then the statement of reasons, the seller's notice and the
reporters' outcomes, each step done once and resumed where it stopped after `needs_attention`;
the seller's strike counted; the appeal window opened."""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from activities.shop_review import ShopReviewActivities
    from domain.core import (
        Action,
        Actor,
        ApplyRequest,
        Attention,
        Event,
    )
    from domain.messages import (
        MessageKind,
        Notification,
        outcome_message_id,
        reporter_address,
        seller_of,
    )
    from domain.review.models import (
        CaseState,
        OverflowOutcome,
    )
    from domain.shop_review.models import Strike
    from domain.sla import appeal_deadline
    from domain.statement import puid_for
    from workflows.parts.options import ACT, ENFORCE, LOCAL, LONG
    from workflows.parts.outbound import NeedsPerson, why



class RestrictionChain:
    case: Any
    lc: Any
    journal: Any
    out: Any
    _moved: Any
    _draw_for_qa: Any  # workflows/review/qa.py

    async def _in_enforcing(self) -> None:
        case = self.case
        assert case.decision is not None
        done = {e.action for e in case.enforcement}
        in_force = {e.action for e in case.in_force}
        for action in case.decision.actions:
            if action in done or action is Action.NO_ACTION:
                continue
            if action in in_force:  # never applied twice (a follow-up, a takedown job)
                self.journal.event(Actor.ENFORCER, Event.ALREADY_IN_FORCE,
                                   f"{action.value}: {_in_force(case, action)}")
                continue
            try:
                result = await self.out.call(
                    "the marketplace", CaseActivities.apply_action,
                    ApplyRequest(case_id=case.case_id, subject=case.subject, action=action,
                                 idempotency_key=f"{case.case_uid}:{action.value}",
                                 reason=case.decision.reason), ENFORCE)
            except ActivityError as e:  # the marketplace proved it can never apply this
                self.journal.event(Actor.ENFORCER, Event.ACTION_FAILED, f"{action.value}: {why(e)}")
                continue
            case.enforcement.append(result)
            self.journal.event(Actor.ENFORCER, Event.ENFORCED,
                        f"{action.value} on {result.target}: {result.detail}"
                        + ("" if result.applied else " (no second application)"))
        self._moved(self.lc.advance("notify"))
        await self.journal.commit()

    async def _in_notifying(self) -> None:
        """The restriction chain: statement, seller notice, reporters' outcomes. Each step is
        done once (its result is kept), so a retry after `needs_attention` resumes it."""
        case = self.case
        try:
            await self._state_reasons()
            await self._tell_reporters()
        except NeedsPerson as e:
            await self._park(str(e))
            return
        if self.lc.model.restricts():
            await self._count_strike()
        await self._draw_for_qa()
        if self.lc.advance("open_appeal_window", "close") == "close":
            case.closed_at = workflow.now()
        self.journal.event(Actor.NOTIFIER, Event(case.state))
        await self.journal.commit()

    async def _state_reasons(self) -> None:
        case = self.case
        decision = case.decision
        assert decision is not None
        if self.lc.model.restricts():
            if case.statement is None:
                puid = puid_for(case.case_id, case.case_uid)
                case.statement = await self.out.step(
                    "the ledger", CaseActivities.issue_statement,
                    case.statement_request(puid), ACT)
                case.statement_puid = puid
            if case.notice_delivered_at is None:
                receipt = await self.out.step(
                    "the marketplace", CaseActivities.notify, self.out.message(
                        "sor", seller_of(case.subject), MessageKind.STATEMENT_OF_REASONS,
                        f"We restricted {case.subject}: {decision.reason}. You may appeal until "
                        f"at least {appeal_deadline(workflow.now()):%Y-%m-%d} (six months from "
                        "receiving this notice).", case.statement), ACT)
                # The window runs on the workflow's clock from the moment delivery is confirmed
                # (the receipt's wall-clock time is kept in the outbox and the timeline).
                case.notice_delivered_at = workflow.now()
                case.appeal_deadline = appeal_deadline(case.notice_delivered_at)
                self.journal.event(Actor.NOTIFIER, Event.SELLER_NOTIFIED,
                            f"statement {case.statement_puid} delivered via "
                            f"{', '.join(receipt.channels)} at "
                            f"{receipt.delivered_at:%Y-%m-%dT%H:%M:%SZ}; appeal window until "
                            f"{case.appeal_deadline:%Y-%m-%d}")
        elif any(e.action is Action.WARN for e in case.enforcement) and (
                "seller-warning" not in case.notified):
            await self.out.step("the marketplace", CaseActivities.notify, self.out.message(
                "warning", seller_of(case.subject), MessageKind.WARNING,
                f"Warning about {case.subject}: {decision.reason}"), ACT)
            case.notified.append("seller-warning")
            self.journal.event(Actor.NOTIFIER, Event.SELLER_WARNED, "")

    async def _count_strike(self) -> None:
        """The restriction is an upheld violation of the seller's (until an appeal overturns
        it); at the pack's threshold the shop gets a review by itself."""
        case, facts = self.case, self.case.facts
        if (not (self.journal.lean or workflow.patched("strikes-start-shop-reviews"))
                or "strike" in case.notified or facts is None or not facts.seller_id):
            return
        assert case.decision is not None
        strike = Strike(case_id=case.case_id, case_uid=case.case_uid, seller_id=facts.seller_id,
                        shop_id=facts.shop_id, policy_ids=case.decision.policy_ids)
        try:
            # a ledger write, as the journal's: no server round trip
            if self.journal.lean or workflow.patched("strike-as-local-activity"):
                result = await workflow.execute_local_activity_method(
                    ShopReviewActivities.record_strike, strike, **LOCAL)
            else:
                result = await self.out.call("the ledger", ShopReviewActivities.record_strike,
                                             strike, ACT)
        except ActivityError as e:  # the strike is not counted; the case goes on
            self.journal.event(Actor.WATCHDOG, Event.STRIKE, f"not counted: {why(e)}")
        else:
            self.journal.event(Actor.POLICY_ENGINE, Event.STRIKE,
                               f"seller {facts.seller_id}: {result.strikes} upheld violation(s),"
                               f" threshold {result.threshold}"
                               + (f"; shop review {result.review_id}" if result.review_id
                                  else ""))
        case.notified.append("strike")

    async def _tell_reporters(self) -> None:
        """Every reporter hears the outcome once, told only what was carried out."""
        case = self.case
        text = _outcome(case)
        if not (self.journal.lean or workflow.patched("one-outcome-per-reporter")):
            for i, report in enumerate(case.reports):  # runs from before: one per report
                if report.reporter and not report.source.is_automated:
                    await self.out.notify(f"outcome-{i}", reporter_address(report.reporter),
                                          MessageKind.OUTCOME, text)
            return
        for report in case.reports:
            key = report.reporter_key
            if key is None or key in case.notified:
                continue
            await self.out.step("the outbox", CaseActivities.notify, Notification(
                message_id=outcome_message_id(case.case_uid, key), case_id=case.case_id,
                recipient=reporter_address(report.reporter), kind=MessageKind.OUTCOME, text=text), ACT)
            case.notified.append(key)
        if case.reports_overflow and "overflow-reporters" not in case.notified:
            await self.out.step("the outbox", CaseActivities.notify_overflow_reporters,
                                OverflowOutcome(case_uid=case.case_uid, case_id=case.case_id,
                                             text=text), LONG)
            case.notified.append("overflow-reporters")

    async def _park(self, reason: str) -> None:
        case = self.case
        self.lc.fire("need_attention")
        case.attention = Attention(reason=reason, since=workflow.now())
        case.waiting_on = f"a person: {reason}"
        self.journal.event(Actor.NOTIFIER, Event.NEEDS_ATTENTION,
                           f"{reason}; lead {case.queue_lead} notified")
        await self.journal.commit()
        await self.out.tell_staff(
            f"attention-{case.revision}", case.queue_lead, MessageKind.NEEDS_ATTENTION,
            f"Case {case.case_id} needs attention: {reason}. Once repaired: casework case retry "
            f"{case.case_id} --reason WHAT-WAS-FIXED")

    async def _in_needs_attention(self) -> None:
        await self.journal.quiet_until(None)


def _in_force(case: CaseState, action: Action) -> str:
    """Who put an action in force before this case's decision."""
    by = next((e.detail for e in case.in_force if e.action is action and e.detail), None)
    return f"in force by {by}" if by else f"in force under {case.followup_of}"


def _outcome(case: CaseState) -> str:
    """What a reporter is told: only actions that landed count as carried out, and what an
    earlier case put in force is said to be so."""
    assert case.decision is not None
    decided = [a for a in case.decision.actions if a is not Action.NO_ACTION]
    in_force = [e.action for e in case.in_force]
    landed = [e.action for e in case.enforcement]
    text = f"Your report about {case.subject} was reviewed."
    if in_force:
        text += f" Already in force: {', '.join(a.value for a in in_force)}."
    if not decided:
        text += (" No further action was taken." if in_force else
                 " We found no violation of our policies or the law and took no action.")
    if landed:
        text += f" Carried out: {', '.join(a.value for a in landed)}."
    if failed := [a for a in decided if a not in landed and a not in in_force]:
        text += f" Decided but not carried out: {', '.join(a.value for a in failed)}."
    return text + (" You may ask us to review this decision within six months"
                   " (reply to this message).")

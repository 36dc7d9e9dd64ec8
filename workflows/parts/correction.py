"""Carrying a corrected decision out on a review case's subject, shared by the appeal and the
QA check: whatever landed and is not kept is reversed once (keyed by the original action, so an
appeal and a QA correction never undo the same action twice), the replacement's new actions are
applied once each (keyed by the record), with their statement of reasons and the seller's
notice. A step the marketplace refuses for good goes to a person (`trouble`); the rest goes on.
The caller commits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from domain.core import Action, Actor, ApplyRequest, Decision, Event
    from domain.messages import MessageKind, seller_of
    from domain.review.models import StatementRequest
    from domain.statement import puid_for
    from workflows.parts.journal import Journal
    from workflows.parts.options import ACT, ENFORCE
    from workflows.parts.outbound import Outbound, why


class Correction:
    def __init__(self, record: Any, journal: Journal, out: Outbound,
                 trouble: Callable[[Event, str], Awaitable[None]]) -> None:
        self.record, self.journal, self.out, self.trouble = record, journal, out, trouble

    async def reverse(self, keep: set[Action], reason: str) -> None:
        """Undo what landed on the review case and is not kept, once each."""
        r = self.record
        done = {e.action for e in r.reversed}
        for landed in r.enforcement:
            action = landed.action
            if action in keep or action in done or action.reversal is None:
                continue
            req = ApplyRequest(case_id=r.review_case_id, subject=r.subject, action=action,
                               idempotency_key=f"{r.review_case_uid}:{action.value}:reversal",
                               reason=reason)
            try:
                result = await self.out.call("the marketplace", CaseActivities.reverse_action,
                                             req, ENFORCE)
            except ActivityError as e:  # the marketplace refuses for good: a person sees to it
                await self.trouble(Event.REVERSAL_FAILED, f"{action.value}: {why(e)}")
                continue
            r.reversed.append(result)
            self.journal.event(Actor.ENFORCER, Event.REVERSED,
                               f"{action.reversal} on {result.target}: {result.detail}")

    async def apply(self, decision: Decision, after: str) -> None:
        """The replacement's new actions, their statement and the seller's notice (`after`:
        what replaced the decision, "an appeal")."""
        r = self.record
        present = {e.action for e in r.enforcement} | {e.action for e in r.applied}
        for action in decision.actions:
            if action in present or action is Action.NO_ACTION:
                continue
            req = ApplyRequest(case_id=r.case_id, subject=r.subject, action=action,
                               idempotency_key=f"{r.case_uid}:{action.value}",
                               reason=decision.reason)
            try:
                result = await self.out.call("the marketplace", CaseActivities.apply_action,
                                             req, ENFORCE)
            except ActivityError as e:
                await self.trouble(Event.ACTION_FAILED, f"{action.value}: {why(e)}")
                continue
            r.applied.append(result)
            self.journal.event(Actor.ENFORCER, Event.ENFORCED,
                               f"{action.value} on {result.target}: {result.detail}")
        if r.statement is None and any(e.action.restricts for e in r.applied):
            puid = puid_for(r.case_id, r.case_uid)
            try:
                r.statement = await self.out.call(
                    "the ledger", CaseActivities.issue_statement,
                    StatementRequest(case_id=r.case_id, puid=puid, subject=r.subject,
                                     decision=decision, enforcement=r.applied,
                                     opener=r.opener, had_hits=r.had_hits, facts=r.facts), ACT)
                r.statement_puid = puid
                await self.out.call("the marketplace", CaseActivities.notify, self.out.message(
                    "sor", seller_of(r.subject), MessageKind.STATEMENT_OF_REASONS,
                    f"After {after}, {r.subject}: "
                    f"{', '.join(a.value for a in decision.actions)}. {decision.reason}",
                    r.statement), ACT)
                self.journal.event(Actor.NOTIFIER, Event.SELLER_NOTIFIED,
                                   f"statement {puid} for the decision that replaces "
                                   f"{r.review_case_id}'s")
            except ActivityError as e:
                await self.trouble(Event.MESSAGE_FAILED, f"statement of reasons: {why(e)}")

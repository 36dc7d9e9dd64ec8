"""Appeals through the client: complaints against decisions (DSA Art. 20), filed for their
appellants by the marketplace's service and decided by the appeals team."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from client.base import ClientBase, parse_actions, parse_choice
from domain.appeal.commands import APPEAL_COMMANDS
from domain.appeal.lifecycle import APPEAL
from domain.appeal.models import (
    AppealDecideRequest,
    AppealRef,
    AppealRequest,
    AppealState,
    Outcome,
    appeal_id_for,
    appellant_for,
    why_not_appeal,
)
from domain.core import CaseSummary
from domain.errors import Closed, NotFound, Refused, Unavailable, build
from domain.people import Role
from domain.review.models import CaseState
from workflows.appeal import AppealWorkflow
from workflows.review import ReviewWorkflow


class Appeals(ClientBase):
    async def file_appeal(self, case_id: str, text: str = "", appellant: str | None = None
                          ) -> AppealRef:
        """A complaint against the case's decision. An open case (a restriction in its appeal
        window) checks and starts it itself; a closed one (a reporter's complaint against
        `no_action`, or a window that ended) is checked here against its final state."""
        row = self.ledger.case(case_id)
        if row is None or row.lifecycle != "review":
            raise NotFound(f"no decided review case {case_id}")
        req = build(AppealRequest, appellant=appellant, text=text, case_uid=row.case_uid)
        same = hashlib.sha256(f"{req.appellant}\x1f{req.text}".encode()).hexdigest()[:24]
        try:  # the same complaint sent again is answered once
            return await self.command(case_id, ReviewWorkflow.file_appeal, req, None,
                                      f"{case_id}:{same}")
        except (Closed, NotFound):  # the server says either of an Update to a closed case
            pass
        case: CaseState = await self.guard(self.temporal.get_workflow_handle(  # this case's run
            case_id, run_id=row.case_uid, result_type=CaseState).result(), case_id)
        who = appellant_for(req.appellant, case.facts.seller_id if case.facts else None,
                            case.reporters())
        if reason := why_not_appeal(
                appellant=who, at=datetime.now(UTC), decision=case.decision,
                enforcement=[e for e in case.enforcement if e.action.restricts],
                seller_id=case.facts.seller_id if case.facts else None,
                reporters=case.reporters(), notice_delivered_at=case.notice_delivered_at,
                closed_at=case.closed_at, appealed=case.appeal is not None):
            raise Refused(reason)
        appeal_id = appeal_id_for(case.case_uid)
        try:
            await self.temporal.start_workflow(
                AppealWorkflow.run, case.appeal_input(who, req.text), id=appeal_id,
                task_queue=self.settings.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                static_summary=f"appeal against {case_id}'s decision on {case.subject}")
        except WorkflowAlreadyStartedError:
            raise Refused("this decision has been appealed already (one appeal per decision)"
                          ) from None
        except RPCError as e:
            raise Unavailable(f"Temporal unavailable: {e.message}") from None
        return AppealRef(appeal_id=appeal_id, state=APPEAL.initial, review_case_id=case_id,
                         appellant=who)

    async def appeal(self, appeal_id: str) -> AppealState:
        return await self.ask(appeal_id, AppealWorkflow.snapshot)  # type: ignore[no-any-return]

    async def decide_appeal(self, appeal_id: str, reviewer: str, outcome: str,
                            actions: Sequence[str] = (), policy_ids: Sequence[str] = (),
                            reason: str = "", request_id: str | None = None) -> CaseSummary:
        """The appeal's verdict, by the appeals reviewer who holds it."""
        req = build(AppealDecideRequest, reviewer=reviewer,
                    outcome=parse_choice(Outcome, outcome, "outcome"),
                    actions=parse_actions(actions), policy_ids=list(policy_ids), reason=reason)
        found = await self.on_record(appeal_id, reviewer, "appeal", Role.APPEALS)
        return await self.command(appeal_id, AppealWorkflow.decide_appeal, req, found,
                                  request_id)

    async def approve_appeal(self, appeal_id: str, approver: str,
                             request_id: str | None = None) -> CaseSummary:
        """The second person a severe verdict waits for: a senior who neither decided nor
        approved the decision appealed, nor decided the appeal."""
        return await self.run(APPEAL_COMMANDS["approve"], appeal_id, approver, {}, request_id)

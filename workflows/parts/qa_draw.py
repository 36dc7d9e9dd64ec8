"""A decision's draw for a blind second review, shared by the review case (its decision, once
carried out and told) and the appeal (its verdict): the pack's `[qa]` rates, pinned with the
record, and the decider's record decide whether a QA check of it starts, once. The draw is
this code's, keyed by the record, so replay draws the same."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from activities.case_activities import CaseActivities
    from domain.core import Actor, Event
    from domain.qa.config import QaConfig
    from domain.qa.models import QaInput, QaPlanRequest
    from domain.qa.sampling import Decided, may_sample, sampled
    from workflows.parts.journal import Journal
    from workflows.parts.options import LOCAL
    from workflows.parts.outbound import why
    from workflows.qa import QaWorkflow


def qa_id_for(case_uid: str) -> str:
    """A check's id: fixed by its record, but not its record's (a QA reviewer given the id
    cannot look the checked decision up by it)."""
    return f"qa-{hashlib.sha256(f'qa-check:{case_uid}'.encode()).hexdigest()[:20]}"


async def draw_check(journal: Journal, decided: Decided, decider: str, qa: QaConfig,
                     patched: Callable[[], bool], drawn: Callable[[], None],
                     check: Callable[[str, str], QaInput]) -> str | None:
    """Draw `decided` (made by `decider`) at `qa`'s rates; when drawn, mark it (`drawn`) and
    start the check `check(why, queue_lead)` as an abandoned child. The check's id, or None.
    Where no rate could draw it (QA off) there is no round trip and no marker of the caller's
    patch (`patched`, its `workflow.patched` call)."""
    if not may_sample(decided, qa) or not patched():
        return None
    try:  # a ledger read and the keyed draw, local (no server round trip)
        plan = await workflow.execute_local_activity_method(
            CaseActivities.qa_plan,
            QaPlanRequest(case_uid=decided.case_uid, decider=decider,
                          drift_window=qa.drift_window), **LOCAL)
    except ActivityError as e:  # no check drawn; the record goes on
        journal.event(Actor.WATCHDOG, Event.NEEDS_ATTENTION, f"no QA draw: {why(e)}")
        return None
    reason = sampled(decided.model_copy(update={"nth": plan.nth, "agreement": plan.agreement}),
                     qa, plan.drawn)
    if reason is None:
        return None
    qa_id = qa_id_for(decided.case_uid)
    drawn()
    try:
        await workflow.start_child_workflow(
            QaWorkflow.run, check(reason, plan.queue_lead), id=qa_id,
            parent_close_policy=ParentClosePolicy.ABANDON,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary="a blind QA check of a decision")
    except WorkflowAlreadyStartedError:  # drawn before (a reset past the draw): once
        return None
    # not why it was drawn: the decider and the queue read this timeline
    journal.event(Actor.POLICY_ENGINE, Event.QA_SAMPLED, qa_id)
    return qa_id

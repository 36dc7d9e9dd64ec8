"""`casework ledger rebuild`: the ledger's derived rows written again from the workflows.

The workflows are the truth; the ledger's queue rows, audit trail, statements and the reports'
outcomes are derived from them. A rebuild writes every case again: open cases from their
`snapshot` query, finished ones from their result (continued-as-new runs are skipped: their
successor carries the case).
Rows only move forward and events and statements are written once by key, so it is safe while
workers write. `fresh` empties the derived tables first (a ledger that is wrong, not just behind;
stop the workers for it). The outbox (what was sent) and ledger-held reports beyond a case's cap
are records of their own, not derived, and are kept either way.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowExecutionStatus

from domain.appeal.models import AppealState
from domain.escalation.models import EscalationState
from domain.qa.models import QaState
from domain.review.models import CaseState
from ledger.store import Ledger

# Every lifecycle's workflow and the state its snapshot query and result carry.
STATES: dict[str, type[Any]] = {"ReviewWorkflow": CaseState, "AppealWorkflow": AppealState,
                                "EscalationWorkflow": EscalationState, "QaWorkflow": QaState}


class RebuildReport(BaseModel):
    cases: int = 0
    statements: int = 0
    unreadable: list[str] = []


async def rebuild(client: Client, ledger: Ledger, task_queue: str, fresh: bool = False
                  ) -> RebuildReport:
    """Every record this deployment's workers run (its task queue): reviews, appeals,
    escalations, QA checks (with what they settled, for the reports)."""
    report = RebuildReport()
    cases: list[Any] = []
    types = ", ".join(f"'{t}'" for t in STATES)
    async for wf in client.list_workflows(
            f"TaskQueue = '{task_queue}' AND WorkflowType IN ({types})"):
        if wf.status is WorkflowExecutionStatus.CONTINUED_AS_NEW:
            continue
        if wf.status is WorkflowExecutionStatus.FAILED:  # a refused start is no record
            report.unreadable.append(f"{wf.id} ({wf.run_id}): failed, not rebuilt")
            continue
        state = STATES[wf.workflow_type]
        handle = client.get_workflow_handle(wf.id, run_id=wf.run_id, result_type=state)
        try:
            if wf.status is WorkflowExecutionStatus.COMPLETED:
                cases.append(await handle.result(follow_runs=False))
            else:  # running, or ended without a result: a query replays it on a worker
                cases.append(await handle.query("snapshot", result_type=state))
        except Exception as e:  # noqa: BLE001 - reported; the other cases are still rebuilt
            report.unreadable.append(f"{wf.id} ({wf.run_id}): {str(e).splitlines()[0]}")
    if fresh:
        ledger.clear_derived()
    for case in cases:
        if (reviewer := ledger.calibration_reviewer(case.case_id)) and hasattr(case, "hold_for"):
            case.hold_for(reviewer)  # a copy stays unfindable (the mark is never serialised)
        ledger.record_case(case.ledger_record(), restore=True)
        report.cases += 1
        statement, puid = getattr(case, "statement", None), getattr(case, "statement_puid", None)
        if statement is not None and puid:
            ledger.put_statement(puid, case.case_id, statement)
            report.statements += 1
    return report

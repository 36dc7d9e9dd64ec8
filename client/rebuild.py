"""`casework ledger rebuild`: the ledger's derived rows written again from the workflows.

The workflows are the truth; the ledger's queue rows, audit trail and statements are derived
from them. A rebuild writes every case again: open cases from their `snapshot` query, finished
ones from their result (continued-as-new runs are skipped: their successor carries the case).
Rows only move forward and events and statements are written once by key, so it is safe while
workers write. `fresh` empties the derived tables first (a ledger that is wrong, not just behind;
stop the workers for it). The outbox (what was sent) and ledger-held reports beyond a case's cap
are records of their own, not derived, and are kept either way.
"""

from __future__ import annotations

from pydantic import BaseModel
from temporalio.client import Client, WorkflowExecutionStatus

from domain.review.models import CaseState
from ledger.store import Ledger

WORKFLOW = "ReviewWorkflow"


class RebuildReport(BaseModel):
    cases: int = 0
    statements: int = 0
    unreadable: list[str] = []


async def rebuild(client: Client, ledger: Ledger, case_prefix: str, fresh: bool = False
                  ) -> RebuildReport:
    report = RebuildReport()
    cases: list[CaseState] = []
    async for wf in client.list_workflows(f"WorkflowType = '{WORKFLOW}'"):
        if not wf.id.startswith(f"{case_prefix}-") or (
                wf.status is WorkflowExecutionStatus.CONTINUED_AS_NEW):
            continue
        handle = client.get_workflow_handle(wf.id, run_id=wf.run_id, result_type=CaseState)
        try:
            if wf.status is WorkflowExecutionStatus.COMPLETED:
                cases.append(await handle.result(follow_runs=False))
            else:  # running, or ended without a result: a query replays it on a worker
                cases.append(await handle.query("snapshot", result_type=CaseState))
        except Exception as e:  # noqa: BLE001 - reported; the other cases are still rebuilt
            report.unreadable.append(f"{wf.id} ({wf.run_id}): {str(e).splitlines()[0]}")
    if fresh:
        ledger.clear_derived()
    for case in cases:
        ledger.record_case(case.ledger_record(), restore=True)
        report.cases += 1
        if case.statement is not None and case.statement_puid:
            ledger.put_statement(case.statement_puid, case.case_id, case.statement)
            report.statements += 1
    return report

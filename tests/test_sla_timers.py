"""Durable timers on the time-skipping server: SLA breach, claim lease, appeal window."""

from __future__ import annotations

import concurrent.futures
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from config import search_attributes
from config.settings import Settings
from domain.core import Priority
from domain.sla import appeal_deadline
from tests.helpers import eventually, own_pack_worker


async def test_24h_sla_breach_marks_raises_and_notifies(ts: CaseworkClient,
                                                        ts_env: WorkflowEnvironment) -> None:
    ref = await ts.open_case("listing:L-0049", "user_report", reporter="buyer-1", text="ivory")
    case = await eventually(lambda: ts.show(ref.case_id), lambda c: c.state == "queued")
    assert (case.queue, case.priority) == ("wildlife", Priority.P2)
    assert case.sla_deadline is not None
    assert case.sla_deadline - case.opened_at == timedelta(hours=24)

    await ts_env.sleep(timedelta(hours=23))
    assert not (await ts.show(ref.case_id)).sla_breached

    await ts_env.sleep(timedelta(hours=1, minutes=1))
    case = await eventually(lambda: ts.show(ref.case_id), lambda c: c.sla_breached)
    assert case.priority == Priority.P1 and case.breaches == 1
    assert case.sla_deadline is not None  # a new deadline at the raised priority's SLA
    assert any(e.event == "sla_breached" for e in case.timeline)
    lead_msgs = await eventually(
        lambda: _async(ts.ledger.messages(ref.case_id)),
        lambda ms: any(m["kind"] == "sla_breach" for m in ms))
    assert [m["recipient"] for m in lead_msgs if m["kind"] == "sla_breach"] == [
        "lead-wildlife@casework.example"]
    # Searchable: the breached flag is a search attribute on the workflow.
    desc = await ts.temporal.get_workflow_handle(ref.case_id).describe()
    assert desc.typed_search_attributes.get(search_attributes.SLA_BREACHED) is True
    assert desc.typed_search_attributes.get(search_attributes.PRIORITY) == "P1"
    # The ledger's queue index shows it too.
    [entry] = ts.queue("wildlife")
    assert entry.sla_breached and entry.priority == Priority.P1


async def test_claim_lease_expires_back_to_queue(ts: CaseworkClient,
                                                 ts_env: WorkflowEnvironment) -> None:
    ref = await ts.open_case("listing:L-0015", "user_report", reporter="buyer-2")
    await eventually(lambda: ts.show(ref.case_id), lambda c: c.state == "queued")
    claimed = await ts.claim_next("dangerous_goods", "alice", lease_minutes=30)
    assert claimed.case_id == ref.case_id and claimed.assignee == "alice"

    await ts_env.sleep(timedelta(minutes=31))
    case = await eventually(lambda: ts.show(ref.case_id), lambda c: c.state == "queued")
    assert case.assignee is None and case.lease_expires_at is None
    assert [e.event for e in case.timeline][-1] == "lease_expired"
    # Back in the queue: another reviewer can claim it.
    again = await ts.claim_next("dangerous_goods", "bob")
    assert again.assignee == "bob"


async def test_appeal_window_closes_the_case_after_six_months(ts: CaseworkClient,
                                                             ts_env: WorkflowEnvironment) -> None:
    ref = await ts.open_case("listing:L-0001", "user_report", reporter="buyer-3")
    await eventually(lambda: ts.show(ref.case_id), lambda c: c.state == "queued")
    await ts.claim(ref.case_id, "alice")
    await ts.decide(ref.case_id, "alice", ["counterfeit"], ["remove"], "replica watch")
    case = await eventually(lambda: ts.show(ref.case_id), lambda c: c.state == "appealable")
    assert case.notice_delivered_at is not None and case.appeal_deadline is not None
    assert case.appeal_deadline == appeal_deadline(case.notice_delivered_at)
    window = case.appeal_deadline - case.notice_delivered_at
    assert timedelta(days=181) <= window <= timedelta(days=185)

    await ts_env.sleep(window - timedelta(days=1))
    assert (await ts.show(ref.case_id)).state == "appealable"
    await ts_env.sleep(timedelta(days=1, minutes=1))
    final = await eventually(lambda: ts.show(ref.case_id), lambda c: c.state == "closed")
    assert final.closed_at is not None
    assert final.closed_at >= case.appeal_deadline
    desc = await ts.temporal.get_workflow_handle(ref.case_id).describe()
    assert desc.status is not None and desc.status.name == "COMPLETED"


async def _async(value):  # noqa: ANN001, ANN202 - adapts a sync read to `eventually`
    return value


async def test_a_job_waiting_for_approval_and_a_shop_review_waiting_for_its_decision_breach(
        ts_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    """Lifecycles without claims breach their SLA too: marked, and the queue's lead told."""
    async with own_pack_worker(ts_env.client, settings, executor,
                               "\n[takedowns]\napproval_above = 2\n") as cw:
        job = await cw.takedown(["listing:L-0241", "listing:L-0242", "listing:L-0243"],
                                "remove", "sweep", "lena", ["counterfeit"])
        review = await cw.shop_review("S-03", "ops-1")
        await eventually(lambda: cw.shop_status(review.review_id),
                         lambda r: r.state == "awaiting_decision")
        await ts_env.sleep(timedelta(hours=25))
        for record_id, state in ((job.job_id, "pending_approval"),
                                 (review.review_id, "awaiting_decision")):
            told = await eventually(lambda r=record_id: _async(cw.ledger.messages(r)),
                                    lambda ms: any(m["kind"] == "sla_breach" for m in ms))
            assert [m["recipient"] for m in told if m["kind"] == "sla_breach"][0] == (
                "lead-takedowns@casework.example")
            row = cw.ledger.case(record_id)
            assert row is not None and (row.state, row.sla_breached) == (state, True)

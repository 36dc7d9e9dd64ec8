"""A hold stops the SLA clock and resumes it; severe actions wait for a second person."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from domain.core import Action, Subject
from domain.errors import Refused
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually


async def test_a_case_held_10h_with_2h_left_breaches_2h_after_it_resumes(
        ts: CaseworkClient, ts_env: WorkflowEnvironment) -> None:
    ref = await ts.open_case("listing:L-0054", "user_report", reporter="buyer-1")  # P2: 24 h
    await eventually(lambda: ts.show(ref.case_id), lambda c: c.state == "queued")
    await ts_env.sleep(timedelta(hours=22))
    await ts.claim(ref.case_id, "alice")
    with pytest.raises(Refused, match="only the assignee"):
        await ts.hold(ref.case_id, "bob", "not mine")
    held = await ts.hold(ref.case_id, "alice", "asked the seller for the CITES permit")
    assert (held.state, held.sla_deadline) == ("on_hold", None)
    assert [e.state for e in ts.queue("wildlife")] == ["on_hold"]  # holds show in the queue

    await ts_env.sleep(timedelta(hours=10))
    case = await ts.show(ref.case_id)
    assert (case.state, case.sla_breached) == ("on_hold", False)
    resumed = await ts.resume(ref.case_id, "alice")
    assert resumed.state == "in_review"
    assert resumed.sla_deadline is not None
    await ts_env.sleep(timedelta(hours=1, minutes=58))
    assert not (await ts.show(ref.case_id)).sla_breached
    await ts_env.sleep(timedelta(minutes=4))
    breached = await eventually(lambda: ts.show(ref.case_id), lambda c: c.sla_breached)
    breach = next(e for e in breached.timeline if e.event == "sla_breached")
    resumed_at = next(e.at for e in breached.timeline if e.event == "resumed")
    assert timedelta(hours=2) - timedelta(seconds=1) <= breach.at - resumed_at <= timedelta(hours=2)


async def test_a_hold_past_its_limit_is_brought_to_the_lead(
        ts: CaseworkClient, ts_env: WorkflowEnvironment) -> None:
    ref = await ts.open_case("listing:L-0054", "user_report", reporter="buyer-1")
    await eventually(lambda: ts.show(ref.case_id), lambda c: c.state == "queued")
    await ts.claim(ref.case_id, "alice")
    await ts.hold(ref.case_id, "alice", "waiting for the rights owner")
    await ts_env.sleep(timedelta(hours=49))
    case = await eventually(lambda: ts.show(ref.case_id),
                            lambda c: any(e.event == "held_too_long" for e in c.timeline))
    assert case.state == "on_hold" and case.hold and case.hold.lead_told
    [told] = [m for m in ts.ledger.messages(ref.case_id) if m["kind"] == "held_too_long"]
    assert told["recipient"] == case.queue_lead


async def test_a_seller_suspension_waits_for_a_second_person(
        dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    ref = await dev.open_case("listing:L-0019", "user_report", reporter="buyer-1")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "sam")  # a senior deciding: still not their own approver
    await dev.decide(ref.case_id, "sam", ["weapons"], ["remove", "suspend_seller"],
                     "brass knuckles, third strike")
    waiting = await eventually(lambda: dev.show(ref.case_id),
                               lambda c: c.state == "awaiting_approval")
    seller = Subject(kind="seller", id=waiting.facts.seller_id)  # type: ignore[union-attr]
    assert sandbox.enforcement_count(seller, Action.SUSPEND_SELLER) == 0
    assert sandbox.enforcement_count(Subject.parse("listing:L-0019"), Action.REMOVE) == 0
    assert [m["kind"] for m in dev.ledger.messages(ref.case_id)] == ["approval_needed"]
    with pytest.raises(Refused, match="a second person, who neither decided"):
        await dev.approve(ref.case_id, "sam")
    with pytest.raises(Refused, match="'bob' lacks the senior role"):
        await dev.approve(ref.case_id, "bob")
    assert (await dev.show(ref.case_id)).state == "awaiting_approval"

    await dev.approve(ref.case_id, "senior-sam")
    case = await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "appealable")
    assert case.approved_by == "senior-sam"
    assert sandbox.enforcement_count(seller, Action.SUSPEND_SELLER) == 1
    events = [e.event for e in case.timeline]
    assert events.index("approved") < events.index("enforced")

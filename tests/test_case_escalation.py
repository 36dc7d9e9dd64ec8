"""A review case taken to an escalation owner: by its reviewer, or by a second SLA breach; the
owner's resolution comes back as the case's decision, or sends it back to its queue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from domain.core import Action, Subject
from domain.errors import Refused
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, settled_in


async def test_an_escalated_case_carries_out_the_owners_resolution(
        dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    ref = await dev.open_case("listing:L-0037", "user_report", reporter="buyer-1")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    with pytest.raises(Refused, match="alice holds this case"):
        await dev.escalate(ref.case_id, "bob", "not mine", "P1")
    esc = await dev.escalate(ref.case_id, "alice", "Seller is a public figure", "P1")
    case = await dev.show(ref.case_id)
    assert (case.state, case.escalation_id, case.sla_deadline) == (
        "escalated", esc.escalation_id, None)
    assert esc.review_case_id == ref.case_id
    with pytest.raises(Refused, match="cannot decide a case in state 'escalated'"):
        await dev.decide(ref.case_id, "alice", ["drugs"], ["remove"], "too early")

    await dev.acknowledge_escalation(esc.escalation_id, "olga")
    await dev.resolve_escalation(esc.escalation_id, "olga", "Prescription drug, remove",
                                 ["remove"], ["drugs"])
    done = await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "appealable")
    assert done.decision and done.decision.decided_by == "olga"
    assert sandbox.enforcement_count(Subject.parse("listing:L-0037"), Action.REMOVE) == 1
    events = [e.event for e in done.timeline]
    assert events.index("escalated") < events.index("escalation_resolved") < events.index(
        "enforced")


async def test_a_resolution_without_actions_sends_the_case_back_to_its_queue(
        dev: CaseworkClient) -> None:
    ref = await dev.open_case("listing:L-0100", "user_report", reporter="buyer-1")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    esc = await dev.escalate(ref.case_id, "lead-1", "Press asks about it", "P2")
    await dev.acknowledge_escalation(esc.escalation_id, "olga")
    await dev.resolve_escalation(esc.escalation_id, "olga", "Nothing sensitive after all")
    case = await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    assert case.sla_deadline is not None and case.assignee is None


async def test_a_second_sla_breach_escalates_the_case(
        ts: CaseworkClient, ts_env: WorkflowEnvironment) -> None:
    ref = await ts.open_case("listing:L-0001", "user_report", reporter="buyer-1")  # P1: 4 h
    await eventually(lambda: ts.show(ref.case_id), lambda c: c.state == "queued")
    await ts_env.sleep(timedelta(hours=4, minutes=1))
    first = await eventually(lambda: ts.show(ref.case_id), lambda c: c.breaches == 1)
    assert first.state == "queued"
    await ts_env.sleep(timedelta(hours=1, minutes=1))  # P0 now: 1 h
    case = await eventually(lambda: ts.show(ref.case_id), lambda c: c.state == "escalated")
    assert case.breaches == 2 and case.escalation_id
    esc = await ts.show_escalation(case.escalation_id)
    assert (esc.source.value, esc.review_case_id, esc.opened_by) == ("sla", ref.case_id,
                                                                     "sla-clock")


async def test_a_handed_off_escalation_sends_its_case_back_to_the_queue(
        dev: CaseworkClient) -> None:
    ref = await dev.open_case("listing:L-0100", "user_report", reporter="buyer-1")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    esc = await dev.escalate(ref.case_id, "lead-1", "Police ask about the seller", "P1")
    await dev.acknowledge_escalation(esc.escalation_id, "olga")
    await dev.hand_off_escalation(esc.escalation_id, "olga", "law_enforcement", "theirs now")
    case = await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    back = next(e for e in case.timeline if e.event == "escalation_resolved")
    assert "handed off to law_enforcement" in back.detail


async def test_a_hold_on_an_unclaimed_case_is_refused(dev: CaseworkClient) -> None:
    ref = await dev.open_case("listing:L-0100", "user_report", reporter="buyer-1")
    await eventually(lambda: dev.show(ref.case_id), settled_in("queued"))
    before = await dev.show(ref.case_id)
    with pytest.raises(Refused, match="cannot hold a case in state 'queued'"):
        await dev.hold(ref.case_id, "alice", "waiting")
    assert await dev.show(ref.case_id) == before

"""Appeals (DSA Art. 20): filed within the window, reviewed by someone else, carried out once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from domain.core import Action, Subject
from domain.errors import Refused
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, removed

LISTING = Subject.parse("listing:L-0001")


async def test_an_overturned_removal_is_reinstated_once_and_the_story_is_told(
        dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    case_id = await removed(dev, LISTING)
    appeal = await dev.file_appeal(case_id, "It is a genuine Rolex, invoice attached")
    assert (appeal.appellant.kind.value, appeal.review_case_id) == ("seller", case_id)
    with pytest.raises(Refused, match="cannot appeal a case in state 'appealed'"):
        await dev.file_appeal(case_id, "a second appeal on the same decision")
    assert (await dev.show(case_id)).state == "appealed"

    await eventually(lambda: dev.appeal(appeal.appeal_id), lambda a: a.state == "queued")
    with pytest.raises(Refused, match="someone else reviews the appeal"):
        await dev.claim(appeal.appeal_id, "alice")  # the original decider
    with pytest.raises(Refused, match="lacks the appeals role"):
        await dev.claim_next("appeals", "kim")  # a reviewer, not on the appeals team
    claimed = await dev.claim_next("appeals", "max")
    assert claimed.case_id == appeal.appeal_id
    await dev.decide_appeal(appeal.appeal_id, "max", "overturned", [], [],
                            "invoice and serial check out")

    done = await eventually(lambda: dev.appeal(appeal.appeal_id),
                            lambda a: a.state == "closed")
    assert [e.action for e in done.reversed] == [Action.REMOVE]
    assert sandbox.show(LISTING)["status"] == "active"
    assert sandbox.enforcement_count(LISTING, Action.REMOVE, reversals=True) == 1
    [told] = [m for m in dev.ledger.messages(appeal.appeal_id) if m["kind"] == "appeal_outcome"]
    assert "overturned" in told["body"] and "Art. 21" in told["body"]
    assert told["recipient"] == "seller01@sandbox.example"

    case = await eventually(lambda: dev.show(case_id), lambda c: c.state == "closed")
    assert case.appeal_outcome == "overturned"
    events = [e.event for e in case.timeline]
    assert events[-3:] == ["appealed", "appeal_decided", "closed"]
    assert [e.event for e in done.timeline][:2] == ["appeal_filed", "queued"]
    assert {"claimed", "appeal_decided", "reversed", "notified", "closed"} <= {
        e.event for e in done.timeline}
    assert [e.event for e in dev.ledger.audit(appeal.appeal_id)][-1] == "closed"


async def test_a_reporters_appeal_against_no_action_that_is_overturned_removes(
        dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    subject = Subject.parse("listing:L-0054")
    ref = await dev.open_case(subject, "user_report", reporter="buyer-7", text="tortoiseshell")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    await dev.decide(ref.case_id, "alice", [], ["no_action"], "looks like resin")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "closed")
    with pytest.raises(Refused, match="neither the seller"):
        await dev.file_appeal(ref.case_id, "me too", appellant="someone-else")

    appeal = await dev.file_appeal(ref.case_id, "It is real tortoiseshell", appellant="buyer-7")
    assert appeal.appellant.kind.value == "reporter"
    await eventually(lambda: dev.appeal(appeal.appeal_id), lambda a: a.state == "queued")
    await dev.claim(appeal.appeal_id, "nina")
    with pytest.raises(Refused, match="names the actions"):
        await dev.decide_appeal(appeal.appeal_id, "nina", "overturned", [], [], "yes")
    await dev.decide_appeal(appeal.appeal_id, "nina", "overturned", ["remove"], ["wildlife"],
                            "CITES Appendix I species")
    done = await eventually(lambda: dev.appeal(appeal.appeal_id),
                            lambda a: a.state == "closed")
    assert [e.action for e in done.applied] == [Action.REMOVE] and done.statement_puid
    assert sandbox.enforcement_count(subject, Action.REMOVE) == 1
    assert any(s["puid"] == done.statement_puid for s in dev.statements())
    kinds = {m["kind"]: m["recipient"] for m in dev.ledger.messages(appeal.appeal_id)}
    assert kinds["appeal_outcome"] == "reporter:buyer-7"
    assert kinds["statement_of_reasons"].endswith("@sandbox.example")


async def test_a_verdict_that_terminates_a_seller_waits_for_a_second_person(
        dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    """The audit's reproduction: overturning a reporter's appeal against no_action with
    terminate_seller acted at once. It waits now for a senior who took no part."""
    seller = Subject.parse("seller:U-10")
    ref = await dev.open_case(seller, "user_report", reporter="buyer-3", text="sells fakes")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    await dev.decide(ref.case_id, "alice", [], ["no_action"], "no evidence")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "closed")
    appeal = await dev.file_appeal(ref.case_id, "see the photos", appellant="buyer-3")
    await eventually(lambda: dev.appeal(appeal.appeal_id), lambda a: a.state == "queued")
    with pytest.raises(Refused, match="alice made the decision under appeal"):
        await dev.claim(appeal.appeal_id, "alice")
    await dev.claim(appeal.appeal_id, "emma")
    waiting = await dev.decide_appeal(appeal.appeal_id, "emma", "overturned",
                                      ["terminate_seller"], ["counterfeit"], "repeat offender")
    assert waiting.state == "awaiting_approval"
    assert sandbox.enforcement_count(seller, Action.TERMINATE_SELLER) == 0
    for who, why in (("alice", "lacks the senior role"),
                     ("emma", "emma decided this: a second person")):
        with pytest.raises(Refused, match=why):
            await dev.approve_appeal(appeal.appeal_id, who)
    await dev.approve_appeal(appeal.appeal_id, "sam")
    done = await eventually(lambda: dev.appeal(appeal.appeal_id), lambda a: a.state == "closed")
    assert done.approved_by == "sam" and done.approval
    assert sandbox.enforcement_count(seller, Action.TERMINATE_SELLER) == 1


async def test_the_window_one_day_inside_six_months_and_one_day_after(
        ts: CaseworkClient, ts_env: WorkflowEnvironment) -> None:
    inside = await removed(ts, LISTING)
    late = await removed(ts, Subject.parse("listing:L-0002"))
    window = (await ts.show(inside)).appeal_deadline - workflow_now(await ts.show(inside))
    await ts_env.sleep(window - timedelta(days=1))
    appeal = await ts.file_appeal(inside, "one day left")
    assert appeal.state == "filed"
    await ts_env.sleep(timedelta(days=2))
    await eventually(lambda: ts.show(late), lambda c: c.state == "closed")
    with pytest.raises(Refused, match="appeal window ended"):
        await ts.file_appeal(late, "one day too late")


def workflow_now(case: object) -> object:
    """When the case's notice was delivered (the window counts from there)."""
    return case.notice_delivered_at  # type: ignore[attr-defined]

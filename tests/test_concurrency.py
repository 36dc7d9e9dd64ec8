"""Races and repeats on the dev server: claims, duplicate reports, refused updates."""

from __future__ import annotations

import asyncio

import pytest

from client.casework import CaseworkClient
from domain.errors import EmptyQueue, Refused
from tests.helpers import eventually


async def _queued(dev: CaseworkClient, subject: str) -> str:
    ref = await dev.open_case(subject, "user_report", reporter="buyer-x")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    return ref.case_id


async def test_two_reviewers_claiming_at_once_never_share_a_case(dev: CaseworkClient) -> None:
    # L-0015 (switchblade) and L-0019 (brass knuckles) both land in dangerous_goods.
    ids = {await _queued(dev, "listing:L-0015"), await _queued(dev, "listing:L-0019")}
    a, b = await asyncio.gather(dev.claim_next("dangerous_goods", "alice"),
                                dev.claim_next("dangerous_goods", "bob"))
    assert {a.case_id, b.case_id} == ids
    assert {a.assignee, b.assignee} == {"alice", "bob"}
    # Only two cases: a third reviewer racing finds the queue empty, not a shared case.
    with pytest.raises(EmptyQueue):
        await dev.claim_next("dangerous_goods", "carol")


async def test_one_case_many_claimants_exactly_one_wins(dev: CaseworkClient) -> None:
    case_id = await _queued(dev, "listing:L-0026")
    results = await asyncio.gather(
        *(dev.claim_next("dangerous_goods", f"reviewer-{i}") for i in range(6)),
        return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1 and winners[0].case_id == case_id
    assert all(isinstance(r, EmptyQueue) for r in results if isinstance(r, BaseException))
    case = await dev.show(case_id)
    assert case.assignee == winners[0].assignee
    assert [e.event for e in case.timeline].count("claimed") == 1


async def test_same_report_twice_opens_one_case_and_a_new_report_joins(
        dev: CaseworkClient) -> None:
    first, second = await asyncio.gather(
        dev.open_case("listing:L-0037", "user_report", reporter="buyer-7", text="drugs"),
        dev.open_case("listing:L-0037", "user_report", reporter="buyer-7", text="drugs"))
    # The report id is the update id: the repeat is deduplicated by Temporal and gets the
    # original answer back.
    assert first == second and first.outcome == "opened"
    third = await dev.open_case("listing:L-0037", "trusted_flagger", reporter="tf-1",
                                text="prescription drugs")
    assert (third.case_id, third.outcome) == (first.case_id, "joined")
    again = await dev.open_case("listing:L-0037", "trusted_flagger", reporter="tf-1",
                                text="prescription drugs")
    assert again == third
    case = await dev.show(first.case_id)
    assert len(case.reports) == 2
    handle = dev.temporal.get_workflow_handle(first.case_id)
    assert (await handle.describe()).run_id == case.case_uid  # one workflow run, never two


async def test_refused_update_leaves_history_unchanged(dev: CaseworkClient) -> None:
    case_id = await _queued(dev, "listing:L-0038")
    handle = dev.temporal.get_workflow_handle(case_id)
    before = (await handle.fetch_history()).events
    with pytest.raises(Refused, match="in state 'queued'"):
        await dev.decide(case_id, "alice", ["drugs"], ["remove"], "too early")
    await dev.claim(case_id, "alice")
    mid = (await handle.fetch_history()).events
    assert len(mid) > len(before)
    with pytest.raises(Refused, match="only the assignee"):
        await dev.decide(case_id, "bob", ["drugs"], ["remove"], "not mine")
    with pytest.raises(Refused, match="acts on a shop|acts on listings|must cite"):
        await dev.decide(case_id, "alice", [], ["remove"], "no policy cited")
    with pytest.raises(Refused, match="in state 'in_review'"):
        await dev.claim(case_id, "bob")
    after = (await handle.fetch_history()).events
    assert after == mid
    assert (await dev.show(case_id)).assignee == "alice"

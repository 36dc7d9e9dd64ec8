"""Takedown jobs: one action on many subjects, paced, each at most once, steerable, reversible."""

from __future__ import annotations

import concurrent.futures
from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from config.settings import Settings
from domain.core import Action, Subject
from domain.errors import InvalidInput, Refused
from domain.takedown.lifecycle import FINISHED
from domain.takedown.models import AuthorityOrder, JobSummary
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, own_pack_worker

LISTINGS = [f"listing:L-{n:04d}" for n in range(101, 161)]  # 60 listings of 6 shops
CLEARANCE = [f"listing:L-{n:04d}" for n in range(241, 291)]  # 50 of the clearance shop's


@pytest.fixture
async def small_batches(dev_env: WorkflowEnvironment, settings: Settings,
                        executor: concurrent.futures.ThreadPoolExecutor
                        ) -> AsyncIterator[CaseworkClient]:
    """A worker whose pack acts in batches of 10 at 40 a second and approves above 50."""
    async with own_pack_worker(dev_env.client, settings, executor,
                               "\n[takedowns]\nbatch_size = 10\nrate_per_s = 40\n"
                               "approval_above = 50\n") as cw:
        yield cw


async def _finished(cw: CaseworkClient, job_id: str, state: str = "completed") -> JobSummary:
    """The job in `state`, its sellers (and an order's authority) told."""
    return await eventually(lambda: cw.takedown_status(job_id), lambda j: j.state == state and (
        state not in FINISHED or j.sellers_notified and (j.reported or not j.order)),
        timeout=60, interval=0.2)


async def test_a_bulk_job_acts_once_on_each_subject_and_tells_each_seller_once(
        small_batches: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    cw = small_batches
    case = await cw.open_case("listing:L-0103", "user_report", reporter="buyer-1")
    await eventually(lambda: cw.show(case.case_id), lambda c: c.state == "queued")
    lines = [*LISTINGS[:20], "listing:L-0103", "", "# a comment", "listing:L-9999"]
    job = await cw.takedown(lines, "remove", "counterfeit sweep", "lena", ["counterfeit"])
    assert (job.progress.total, job.requester) == (21, "lena")  # the duplicate counted once
    done = await _finished(cw, job.job_id)
    assert (done.progress.done, done.progress.skipped, done.progress.failed) == (20, 1, 0)
    for line in LISTINGS[:20]:
        assert sandbox.enforcement_count(Subject.parse(line), Action.REMOVE) == 1
    [unknown] = [i for i in cw.takedown_items(job.job_id) if i.status == "skipped"]
    assert unknown.subject == Subject.parse("listing:L-9999") and "no listing" in unknown.detail
    statements = [s for s in cw.statements() if s["puid"].startswith(job.job_id)]
    assert len(statements) == 20
    notices = [m for m in cw.ledger.messages(job.job_id)
               if m["kind"] == "statement_of_reasons"]
    assert len(notices) == 2  # 20 listings of 2 shops: one notice per seller
    recorded = await eventually(lambda: cw.show(case.case_id), lambda c: c.in_force)
    assert [e.event for e in recorded.timeline][-1] == "takedown_recorded"
    again = await cw.takedown(lines, "remove", "counterfeit sweep", "lena", ["counterfeit"])
    assert again.job_id == job.job_id  # the same job asked again is the same job
    await cw.steer_takedown(job.job_id, "reverse", "lena")
    back = await _finished(cw, job.job_id, "closed")
    assert (back.progress.reversed, back.progress.reversal_failed) == (20, 0)
    lifted = await eventually(lambda: cw.show(case.case_id), lambda c: not c.in_force)
    assert "remove reversed by takedown job" in lifted.timeline[-1].detail
    with pytest.raises(Refused, match="has ended"):
        await cw.takedown(lines, "remove", "counterfeit sweep", "lena", ["counterfeit"])


async def test_a_reverse_sent_while_a_batch_runs_restores_everything(
        small_batches: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    cw = small_batches
    job = await cw.takedown(CLEARANCE, "disable", "recall", "leo", ["recalled-products"])
    await eventually(lambda: cw.takedown_status(job.job_id),
                     lambda j: j.progress.done >= 10 and j.in_flight, interval=0.02)
    await cw.steer_takedown(job.job_id, "cancel", "leo")
    await cw.steer_takedown(job.job_id, "reverse", "leo")  # the batch may still be acting
    back = await _finished(cw, job.job_id, "closed")
    assert back.progress.reversed == back.progress.done > 0
    assert sandbox_disabled(sandbox) == []


async def test_what_cannot_be_reversed_or_acted_on_is_refused(
        small_batches: CaseworkClient) -> None:
    cw = small_batches
    job = await cw.takedown(CLEARANCE[:2], "warn", "final warning", "leo")
    await _finished(cw, job.job_id)
    with pytest.raises(Refused, match="warn cannot be reversed"):
        await cw.steer_takedown(job.job_id, "reverse", "leo")
    with pytest.raises(InvalidInput, match="no_action is not an action"):
        await cw.takedown(CLEARANCE[:2], "no_action", "x", "leo")
    with pytest.raises(InvalidInput, match="name the policy"):
        await cw.takedown(CLEARANCE[:2], "remove", "x", "leo")


async def test_pause_resume_cancel_and_reverse(small_batches: CaseworkClient,
                                               sandbox: SandboxMarketplace) -> None:
    cw = small_batches
    job = await cw.takedown(CLEARANCE, "disable", "recall", "leo", ["recalled-products"])
    await eventually(lambda: cw.takedown_status(job.job_id), lambda j: j.progress.done >= 10)
    with pytest.raises(Refused, match="only the requester"):
        await cw.steer_takedown(job.job_id, "pause", "lena")
    paused = await cw.steer_takedown(job.job_id, "pause", "leo")
    assert paused.state == "paused"
    settled = await eventually(lambda: cw.takedown_status(job.job_id), lambda j: not j.in_flight)
    stopped = settled.progress.done
    assert stopped <= paused.progress.done + 10  # at most the batch in flight
    assert len(sandbox_disabled(sandbox)) == stopped

    await cw.steer_takedown(job.job_id, "resume", "leo")
    await eventually(lambda: cw.takedown_status(job.job_id), lambda j: j.progress.done > stopped)
    cancelled = await cw.steer_takedown(job.job_id, "cancel", "leo")
    done = await eventually(lambda: cw.takedown_status(job.job_id),
                            lambda j: j.state == "cancelled" and not j.in_flight)
    assert done.progress.done < 50 and done.progress.done <= cancelled.progress.done + 10
    assert len(sandbox_disabled(sandbox)) == done.progress.done  # the rest untouched
    untouched = [i for i in cw.takedown_items(job.job_id) if i.status == "pending"]
    assert len(untouched) == 50 - done.progress.done
    with pytest.raises(Refused, match="cannot resume a job in state 'cancelled'"):
        await cw.steer_takedown(job.job_id, "resume", "leo")

    await cw.steer_takedown(job.job_id, "reverse", "leo")
    back = await _finished(cw, job.job_id, "closed")
    assert back.progress.reversed == done.progress.done
    assert sandbox_disabled(sandbox) == []


def sandbox_disabled(sandbox: SandboxMarketplace) -> list[str]:
    return [r["subject"] for r in sandbox.list() if r["status"] == "disabled"]


async def test_a_big_job_waits_for_a_senior_other_than_its_requester(
        small_batches: CaseworkClient) -> None:
    cw = small_batches
    job = await cw.takedown(LISTINGS, "demote", "spam wave", "senior-sam", ["price-scam"])
    waiting = await _finished(cw, job.job_id, "pending_approval")
    assert waiting.progress.done == 0
    with pytest.raises(Refused, match="a second person, who neither decided"):
        await cw.approve_takedown(job.job_id, "senior-sam")
    with pytest.raises(Refused, match="lacks the senior role"):
        await cw.approve_takedown(job.job_id, "bob")
    await cw.approve_takedown(job.job_id, "sam")
    done = await _finished(cw, job.job_id)
    assert (done.progress.done, done.approved_by) == (60, "sam")


async def test_an_authority_order_runs_at_once_and_reports_every_item(
        small_batches: CaseworkClient) -> None:
    cw = small_batches
    order = AuthorityOrder(authority="police-nl", reference="ORD-2026-117",
                           legal_ground="Art. 9 DSA order, Opium Act s. 3",
                           deadline="2026-12-01")  # type: ignore[arg-type]
    job = await cw.takedown([*LISTINGS[:40], "listing:L-9998"], "remove", order.legal_ground,
                            "lena", order=order)  # no policy of the pack: the order's ground
    done = await _finished(cw, job.job_id)  # 41 items of a known authority: no approval wait
    assert (done.progress.done, done.progress.skipped) == (40, 1)
    [report] = [m for m in cw.ledger.messages(job.job_id) if m["kind"] == "order_report"]
    assert report["recipient"] == "authority:police-nl" and "ORD-2026-117" in report["body"]
    rows = report["body"].splitlines()[1:]
    assert len(rows) == 41 and sum("\tskipped\t" in r for r in rows) == 1
    sor = next(s for s in cw.statements() if s["puid"].startswith(job.job_id))
    assert sor["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION"
    assert sor["source_identity"] == "police-nl" and "ORD-2026-117" in sor["decision_facts"]
    assert sor["illegal_content_legal_ground"] == order.legal_ground
    assert len([s for s in cw.statements() if s["puid"].startswith(job.job_id)]) == 40
    big = await cw.takedown(LISTINGS[40:] + CLEARANCE, "remove", order.legal_ground, "leo",
                            order=order.model_copy(update={"reference": "ORD-2026-118"}))
    assert big.state == "pending_approval" and "exceed the threshold" in (big.approval or "")


@pytest.mark.parametrize(("lines", "why"), [
    (["listing:L-0101", "listing L-0102", "shop:"], r"2 bad line\(s\): line 2, 3 not KIND:ID"),
    ([], "no subjects"),
    (["# only comments"], "no subjects"),
])
async def test_a_bad_file_starts_nothing(dev: CaseworkClient, lines: list[str],
                                         why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        await dev.takedown(lines, "remove", "x", "lena", ["counterfeit"])

"""Once an action has landed, its statement of reasons, the seller's notice and the appeal window
always follow, whatever happens to the pack or the marketplace meanwhile."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

import worker as worker_module
from client.casework import CaseworkClient
from config.settings import Settings
from domain.core import (
    Action,
    Decision,
    EnforcementResult,
    Report,
    Source,
    Subject,
)
from domain.errors import Refused
from domain.review.models import CaseState
from marketplace.sandbox import SandboxMarketplace
from tests import pg
from tests.helpers import eventually, own_pack_worker

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
async def slow_enforcement(dev_env: WorkflowEnvironment, settings: Settings,
                           executor: concurrent.futures.ThreadPoolExecutor
                           ) -> AsyncIterator[CaseworkClient]:
    """A worker whose marketplace holds each action for 3 s, reading a pack of the test's own."""
    async with own_pack_worker(dev_env.client, settings, executor,
                               sandbox_apply_delay_s=3.0) as cw:
        yield cw


def _drop_policy(pack: Path, policy_id: str) -> None:
    """Remove one `[[policies]]` block (and its rules) from a pack file."""
    blocks = pack.read_text().split("[[policies]]")
    kept = [b for b in blocks[1:] if not b.lstrip().startswith(f'id = "{policy_id}"')]
    assert len(kept) == len(blocks) - 2
    pack.write_text("[[policies]]".join([blocks[0], *kept]))


async def test_a_pack_edit_removing_the_cited_policy_leaves_the_statement_intact(
        slow_enforcement: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    cw = slow_enforcement
    ref = await cw.open_case("listing:L-0001", "user_report", reporter="buyer-1")
    await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "queued")
    await cw.claim(ref.case_id, "alice")
    await cw.decide(ref.case_id, "alice", ["counterfeit"], ["remove"], "replica watch")
    await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "enforcing")
    _drop_policy(cw.settings.policy_pack, "counterfeit")  # reviewed edit lands meanwhile
    assert "counterfeit" not in cw.pack().by_id

    case = await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "appealable",
                            timeout=30)
    assert case.decision is not None
    [cited] = case.decision.citations
    assert (cited.id, case.decision.pack_version) == ("counterfeit", case.pack_version)
    [sor] = [s for s in cw.statements() if s["puid"] == case.statement_puid]
    assert sor["category"] == cited.category == "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    assert sor["illegal_content_legal_ground"] == cited.legal_reference
    assert sandbox.enforcement_count(Subject.parse("listing:L-0001"), Action.REMOVE) == 1
    assert case.appeal_deadline is not None


async def test_a_seller_the_marketplace_cannot_reach_parks_the_case_until_retried(
        dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    ref = await dev.open_case("listing:L-0054", "user_report", reporter="buyer-1")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    sandbox.fail("seller_contact", "refuse")  # the seller's contact is unknown: a person fixes it
    await dev.decide(ref.case_id, "alice", ["wildlife"], ["remove"], "tortoiseshell")
    parked = await eventually(lambda: dev.show(ref.case_id),
                              lambda c: c.state == "needs_attention", timeout=30)
    assert parked.attention is not None and "notify failed" in parked.attention.reason
    assert parked.waiting_on and parked.statement_puid and parked.notice_delivered_at is None
    # the lead's message goes out in the background, after the case is parked
    lead = await eventually(lambda: asyncio.to_thread(dev.ledger.messages, ref.case_id),
                            lambda ms: any(m["kind"] == "needs_attention" for m in ms))
    lead = [m for m in lead if m["kind"] == "needs_attention"]
    assert len(lead) == 1 and "casework case retry" in lead[0]["body"]
    with pytest.raises(Refused, match="cannot retry"):  # only a parked case can be retried
        await dev.retry((await dev.open_case("listing:L-0100", "internal")).case_id, "ops-1",
                        "x")

    sandbox.heal()
    resumed = await dev.retry(ref.case_id, "ops-1", "seller contact restored")
    assert resumed.waiting_on is None
    case = await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "appealable")
    assert case.appeal_deadline is not None and case.attention is None
    assert [e.event for e in case.timeline].count("seller_notified") == 1
    retried = next(e for e in case.timeline if e.event == "retried")
    assert retried.actor == "ops-1" and "seller contact restored" in retried.detail
    assert len([s for s in dev.statements() if s["puid"] == case.statement_puid]) == 1
    assert sandbox.enforcement_count(Subject.parse("listing:L-0054"), Action.REMOVE) == 1


async def test_a_ten_minute_marketplace_outage_alerts_the_lead_and_the_case_completes(
        ts: CaseworkClient, ts_env: WorkflowEnvironment, sandbox: SandboxMarketplace) -> None:
    ref = await ts.open_case("listing:L-0054", "user_report", reporter="buyer-1")
    await eventually(lambda: ts.show(ref.case_id), lambda c: c.state == "queued")
    await ts.claim(ref.case_id, "alice")
    sandbox.fail("apply_action", "error")
    await ts.decide(ref.case_id, "alice", ["wildlife"], ["remove"], "tortoiseshell")
    await ts_env.sleep(timedelta(minutes=12))
    down = await eventually(lambda: ts.show(ref.case_id),
                            lambda c: c.waiting_on is not None, timeout=30)
    assert down.state == "enforcing" and "the marketplace (apply_action)" in down.waiting_on
    alerts = [m for m in ts.ledger.messages(ref.case_id) if m["kind"] == "dependency_down"]
    assert len(alerts) == 1 and alerts[0]["recipient"] == down.queue_lead
    assert sandbox.enforcement_count(Subject.parse("listing:L-0054"), Action.REMOVE) == 0

    sandbox.heal()
    await ts_env.sleep(timedelta(minutes=1))
    case = await eventually(lambda: ts.show(ref.case_id), lambda c: c.state == "appealable",
                            timeout=30)
    assert case.waiting_on is None and case.statement_puid
    assert [e.event for e in case.timeline][-6:].count("dependency_back") == 1
    assert sandbox.enforcement_count(Subject.parse("listing:L-0054"), Action.REMOVE) == 1


async def test_postgresql_restarted_mid_run_loses_nothing(
        dev_env: WorkflowEnvironment, settings: Settings, pg_url: str,
        pg_cluster: pg.Cluster | None, executor: concurrent.futures.ThreadPoolExecutor) -> None:
    """Cases run with their ledger on PostgreSQL; the server stops and starts while they run.
    Every case reaches its end, and the ledger holds each once with its whole timeline."""
    if pg_cluster is None:
        pytest.skip("CASEWORK_TEST_PG_URL names a server these tests may not restart")
    own = dataclasses.replace(settings, ledger_url=pg_url)
    # The workers' ledger is what goes away: commands are checked against the test's own
    # directory (a client refuses every command while its directory is out of reach).
    ledger = CaseworkClient(None, own).ledger
    async with worker_module.build_worker(dev_env.client, own, executor):
        cw = CaseworkClient(dev_env.client, settings)
        refs = [await cw.open_case(f"listing:L-{n:04d}", "user_report", reporter=f"b-{n}")
                for n in range(101, 109)]
        for ref in refs:
            await eventually(lambda r=ref: cw.show(r.case_id), lambda c: c.state == "queued")
            await cw.claim(ref.case_id, "alice")
        await cw.decide(refs[0].case_id, "alice", [], ["no_action"], "fine")
        pg_cluster.stop()  # the ledger goes away mid-run: commits wait and retry
        deciding = [asyncio.ensure_future(cw.decide(r.case_id, "alice", [], ["no_action"], "ok"))
                    for r in refs[1:]]
        await asyncio.sleep(3)
        assert not any(d.done() for d in deciding)  # a decision commits before it answers
        pg_cluster.start()
        await asyncio.gather(*deciding)
        for ref in refs:
            case = await eventually(lambda r=ref: cw.show(r.case_id),
                                    lambda c: c.state == "closed", timeout=60)
            assert [e.seq for e in ledger.audit(ref.case_id)] == [e.seq for e in case.timeline]
        assert len([r for r in ledger.dump()["cases"] if r["state"] == "closed"]) == len(refs)


def test_a_statement_the_dsa_rules_refuse_needs_a_person_and_a_repin_mends_it(
        settings: Settings) -> None:
    """A pinned citation the Transparency Database no longer accepts (its enumerations
    changed), or a decision from before pinning whose policy left the pack: final, so the case
    parks; once the pack is fixed, `case retry --repin` states the reasons from it."""
    activities = worker_module.build_activities(settings)
    pack = activities.pack.get()
    case = CaseState(
        case_id="c-1", case_uid="u-1", subject=Subject.parse("listing:L-0001"),
        state="notifying", opened_at=NOW, reports=[Report(
            report_id="r", source=Source.USER_REPORT, reporter="b", received_at=NOW)],
        decision=Decision(decided_by="alice", policy_ids=["counterfeit"],
                          actions=[Action.REMOVE], reason="replica", decided_at=NOW,
                          automated=False, citations=[pack.get("counterfeit").ref().model_copy(
                              update={"category": "STATEMENT_CATEGORY_RETIRED"})]),
        enforcement=[EnforcementResult(action=Action.REMOVE, target=Subject.parse(
            "listing:L-0001"), applied=True, detail="removed", applied_at=NOW)])
    env = ActivityEnvironment()
    with pytest.raises(ApplicationError) as refused:
        env.run(activities.issue_statement, case.statement_request("p-1"))
    assert refused.value.non_retryable and "not an accepted category" in refused.value.message
    legacy = case.model_copy(update={"decision": case.decision.model_copy(update={
        "citations": [], "policy_ids": ["retired-policy"]})})
    with pytest.raises(ApplicationError, match="no policy of the current pack"):
        env.run(activities.issue_statement, legacy.statement_request("p-2"))

    case.repin = True
    body = env.run(activities.issue_statement, case.statement_request("p-1"))
    assert body["category"] == pack.get("counterfeit").category
    assert [s["puid"] for s in activities.ledger.statements()] == ["p-1"]

"""Record workflow histories (every lifecycle) for the replay test:
`python -m tests.histories.record [SET] [--force]` (sets: `SETS`; the whole `all` set predates
the freshness rule for job starts and stops at its first job after a time skip).

Runs each scenario on a time-skipping server and writes `<scenario>.json` beside this file,
only where that file does not exist yet (`--force` overwrites): committed histories stand for
workflows already running, and guard them against new code. Add a scenario for new behaviour.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from temporalio.client import WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.testing import WorkflowEnvironment

import worker as worker_module
from client.casework import CaseworkClient
from client.ops import Ops
from config.settings import Settings
from domain.review.commands import REVIEW_COMMANDS as COMMANDS
from domain.shop_review.models import shop_review_id
from domain.takedown.models import AuthorityOrder
from domain.trend_models import Signal
from marketplace import demo
from marketplace.sandbox import SandboxMarketplace
from stack import devserver
from tests.conftest import add_search_attributes
from tests.helpers import CONVERTER, eventually, seed_directory

HERE = Path(__file__).parent


async def scenarios(c: CaseworkClient, env: WorkflowEnvironment) -> dict[str, str]:
    out: dict[str, str] = {}

    ref = await c.open_case("listing:L-0001", "user_report", reporter="b1", text="fake")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await c.open_case("listing:L-0001", "trusted_flagger", reporter="tf", text="counterfeit")
    await c.claim(ref.case_id, "alice")
    await c.decide(ref.case_id, "alice", ["counterfeit"], ["remove"], "replica")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    await env.sleep(timedelta(days=185))
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "closed")
    out["reviewed_removed_closed"] = ref.case_id

    ref = await c.open_case("listing:L-0003", "classifier", text="image match")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    out["auto_actioned"] = ref.case_id

    out["lease_expired_breached_no_action"] = await _lease_lapsed_breached(c, env, "b2")

    ref = await c.open_case("listing:L-0054", "user_report", reporter="b3")
    await c.open_case("listing:L-0054", "trusted_flagger", reporter="tf-2", text="CITES")
    await c.claim(ref.case_id, "dana")
    await c.decide(ref.case_id, "dana", ["wildlife"], ["remove"], "tortoiseshell")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    out["trusted_flagger_joined_reprioritised"] = ref.case_id

    ref = await c.open_case("listing:L-0037", "trusted_flagger", reporter="tf-3", text="drugs")
    await c.claim(ref.case_id, "erin")
    await c.decide(ref.case_id, "erin", ["drugs"], ["remove", "warn"], "no prescription")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    out["intake_attributes_at_start"] = ref.case_id

    ref = await c.open_case("listing:L-0100", "user_report", reporter="b4",
                            text="colour is wrong, call me on 0170-5550199")
    await c.claim(ref.case_id, "fay")
    await c.decide(ref.case_id, "fay", [], ["no_action"], "colour as described")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "closed")
    out["payloads_encrypted_no_action"] = ref.case_id

    sandbox = SandboxMarketplace(c.settings.sandbox_db)
    ref = await c.open_case("listing:L-0002", "user_report", reporter="b5", text="fake")
    await c.claim(ref.case_id, "gus")
    await c.decide(ref.case_id, "gus", ["counterfeit"], ["remove"], "replica belt")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    late = await c.open_case("listing:L-0002", "law_enforcement", reporter="police-nl",
                             text="order 2026/9")
    await eventually(lambda: c.show(late.case_id), lambda s: s.state == "queued")
    await c.claim(late.case_id, "gus")
    await c.decide(late.case_id, "gus", [], ["no_action"], "already removed")
    await eventually(lambda: c.show(late.case_id), lambda s: s.state == "closed")
    out["late_report_forwarded_to_follow_up"] = ref.case_id
    out["follow_up_opened_by_a_late_report"] = late.case_id

    ref = await c.open_case("listing:L-0100", "user_report", reporter="b6", text="odd")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await c.open_case("listing:L-0100", "law_enforcement", reporter="police-de", text="order")
    await c.claim(ref.case_id, "hal")
    sandbox.fail("seller_contact", "refuse")
    await c.decide(ref.case_id, "hal", ["counterfeit"], ["disable"], "copy")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "needs_attention")
    sandbox.heal()
    await c.retry(ref.case_id, "ops-1", "contact restored")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    out["joined_reprioritised_parked_and_retried"] = ref.case_id

    ref = await c.open_case("listing:L-0060", "user_report", reporter="b7")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await c.claim(ref.case_id, "ida")
    sandbox.fail("apply_action", "error")
    await c.decide(ref.case_id, "ida", ["wildlife"], ["remove"], "tortoiseshell")
    await env.sleep(timedelta(minutes=12))
    await eventually(lambda: c.show(ref.case_id), lambda s: s.waiting_on is not None)
    sandbox.heal()
    await env.sleep(timedelta(minutes=1))
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    out["marketplace_down_alerted_then_back"] = ref.case_id

    # A newer client sends fields this version does not know: they are ignored, and the
    # history holding them replays (a field removed between versions).
    case_id = f"{c.settings.case_prefix}-listing-L-0005"
    report = {"report_id": "newer-1", "source": "user_report", "reporter": "b8",
              "subject": {"kind": "listing", "id": "L-0005"},
              "text": "scam", "received_at": "2026-11-26T08:00:00Z", "channel": "app"}
    await c.temporal.execute_update_with_start_workflow(
        "file_report", report, id="newer-1", result_type=dict,
        start_workflow_operation=WithStartWorkflowOperation(
            "ReviewWorkflow", {"subject": {"kind": "listing", "id": "L-0005"}, "report": report,
                               "priority_hint": "P1"},
            id=case_id, task_queue=c.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING))
    await eventually(lambda: c.show(case_id), lambda s: s.state in ("queued", "appealable"))
    out["report_from_a_newer_client"] = case_id

    ref = await c.open_case("listing:L-0012", "user_report", reporter="b9")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await env.sleep(timedelta(hours=73))
    await eventually(lambda: c.show(ref.case_id), lambda s: s.sla_breached)
    await c.claim(ref.case_id, "jo")
    await c.decide(ref.case_id, "jo", ["weapons"], ["remove"], "switchblade")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    late = await c.open_case("listing:L-0012", "trusted_flagger", reporter="tf-4", text="knife")
    await c.claim(late.case_id, "kim")
    await c.decide(late.case_id, "kim", ["weapons"], ["remove"], "still listed?")
    await eventually(lambda: c.show(late.case_id), lambda s: s.state == "closed")
    out["breach_told_in_the_background"] = ref.case_id
    out["follow_up_with_the_action_in_force"] = late.case_id

    ref = await c.open_case("listing:L-0061", "user_report", reporter="b10")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await c.claim(ref.case_id, "lee")
    await c.hold(ref.case_id, "lee", "asked for the invoice")
    await env.sleep(timedelta(hours=2))
    await c.resume(ref.case_id, "lee")
    await c.decide(ref.case_id, "lee", ["counterfeit"], ["remove", "suspend_seller"], "fake")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "awaiting_approval")
    await c.approve(ref.case_id, "sam")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    appeal = await c.file_appeal(ref.case_id, "genuine, invoice attached")
    await eventually(lambda: c.appeal(appeal.appeal_id), lambda a: a.state == "queued")
    await c.claim(appeal.appeal_id, "max")
    await c.decide_appeal(appeal.appeal_id, "max", "modified", ["remove"], [], "no suspension")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "closed")
    out["held_approved_appealed_closed"] = ref.case_id
    out["appeal_modified"] = appeal.appeal_id

    esc = await c.open_escalation("seller:U-07", "press", "Journalist asks about fake medicines",
                                  "P2", opened_by="comms-1")
    await eventually(lambda: c.show_escalation(esc.escalation_id), lambda e: e.sla_deadline)
    await env.sleep(timedelta(minutes=61))
    await eventually(lambda: c.show_escalation(esc.escalation_id), lambda e: e.sla_breached)
    await c.acknowledge_escalation(esc.escalation_id, "olga")
    await c.note_escalation(esc.escalation_id, "olga", "Asked the seller team for sales data")
    await c.set_escalation_severity(esc.escalation_id, "olga", "P2", "contained")
    await env.sleep(timedelta(hours=4, minutes=1))
    await eventually(lambda: c.show_escalation(esc.escalation_id), lambda e: e.updates_sent)
    await c.resolve_escalation(esc.escalation_id, "olga", "Statement published")
    await eventually(lambda: c.show_escalation(esc.escalation_id), lambda e: e.state == "closed")
    out["escalation_breached_updated_resolved"] = esc.escalation_id

    esc = await c.open_escalation("seller:U-11", "law_enforcement", "Police request", "P0",
                                  owner="olga")
    await c.acknowledge_escalation(esc.escalation_id, "olga")
    await c.hand_off_escalation(esc.escalation_id, "olga", "law_enforcement", "Police lead it")
    await eventually(lambda: c.show_escalation(esc.escalation_id), lambda e: e.state == "closed")
    out["escalation_p0_paged_handed_off"] = esc.escalation_id

    ref = await c.open_case("listing:L-0015", "user_report", reporter="b10")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    esc = await c.escalate(ref.case_id, "lee", "Seller threatens staff", "P1")
    await c.acknowledge_escalation(esc.escalation_id, "olga")
    await c.resolve_escalation(esc.escalation_id, "olga", "Back to the reviewer")
    await eventually(lambda: c.show_escalation(esc.escalation_id), lambda e: e.state == "closed")
    out["escalation_from_a_case_resolved"] = esc.escalation_id

    ref = await c.open_case("listing:L-0062", "user_report", reporter="b11")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await c.claim(ref.case_id, "lee")
    esc = await c.escalate(ref.case_id, "lee", "Seller is a public figure", "P1")
    await c.acknowledge_escalation(esc.escalation_id, "olga")
    await c.resolve_escalation(esc.escalation_id, "olga", "Counterfeit: remove", ["remove"],
                               ["counterfeit"])
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    out["case_escalated_resolved_enforced"] = ref.case_id

    job = await c.takedown([f"listing:L-{n:04d}" for n in range(241, 251)], "remove",
                           "clearance sweep", "lena", ["counterfeit"])
    await eventually(lambda: c.takedown_status(job.job_id),
                     lambda j: j.state == "completed" and j.sellers_notified)
    await c.steer_takedown(job.job_id, "reverse", "lena")
    await eventually(lambda: c.takedown_status(job.job_id), lambda j: j.state == "closed")
    out["takedown_completed_reversed"] = job.job_id

    order = AuthorityOrder(authority="bnetza", reference="ORD-7", deadline=date(2026, 12, 31),
                           legal_ground="Illegal product under national law")
    job = await c.takedown(["listing:L-0251", "listing:L-9999"], "remove", order.legal_ground,
                           "lena", order=order)
    await eventually(lambda: c.takedown_status(job.job_id), lambda j: j.reported)
    out["authority_order_reported"] = job.job_id

    for listing in ("listing:L-0211", "listing:L-0212", "listing:L-0218"):
        case_id = await _restricted(c, listing)
    out["third_strike_starts_a_shop_review"] = case_id  # recorded with record_strike an activity
    out["third_strike_counted_locally"] = case_id  # since: a local activity, as ledger writes
    review_id = shop_review_id("S-22", c.settings.case_prefix)
    await eventually(lambda: c.shop_status(review_id), lambda r: r.state == "awaiting_decision")
    await c.decide_shop(review_id, "sam", "suspend_shop", "three counterfeits in a month",
                        ["counterfeit"])
    await eventually(lambda: c.shop_status(review_id), lambda r: r.state == "enforced")
    out["shop_review_by_strikes_suspended"] = review_id

    review = await c.shop_review("S-16", "ops-1")
    await eventually(lambda: c.shop_status(review.review_id),
                     lambda r: r.state == "awaiting_decision")
    await c.decide_shop(review.review_id, "sam", "remove_hits", "five breaches")
    await eventually(lambda: c.shop_status(review.review_id), lambda r: r.state == "enforced")
    out["shop_review_hits_removed"] = review.review_id

    ops = Ops(c)
    ref = await c.open_case("listing:L-0171", "user_report", reporter="b13")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await c.claim(ref.case_id, "alice")
    await ops.repair("release", ref.case_id, "ops-1", "alice is away")
    await ops.repair("reassign", ref.case_id, "ops-1", "urgent", to="bob")
    await ops.repair("bump", ref.case_id, "ops-1", "press interest")
    await c.decide(ref.case_id, "bob", [], ["no_action"], "fine")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "closed")
    out["ops_released_reassigned_bumped"] = ref.case_id
    return out


async def sent_back(c: CaseworkClient, env: WorkflowEnvironment) -> dict[str, str]:
    """A severe decision a second person sends back (a report joining it while it waits),
    decided again."""
    out: dict[str, str] = {}
    ref = await c.open_case("seller:U-17", "user_report", reporter="b14", text="replicas")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await c.claim(ref.case_id, "sam")
    await c.decide(ref.case_id, "sam", ["counterfeit"], ["suspend_seller"], "replicas")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "awaiting_approval")
    await c.open_case("seller:U-17", "user_report", reporter="b15", text="one more")
    await c.reject(ref.case_id, "emma", "one listing, not a pattern")
    await c.claim(ref.case_id, "sam")
    await c.decide(ref.case_id, "sam", ["counterfeit"], ["warn"], "a warning")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "closed")
    out["sent_back_joined_decided_again"] = ref.case_id
    return out


async def trends(c: CaseworkClient, env: WorkflowEnvironment) -> dict[str, str]:
    """A scan finds a wave and opens its escalation; the wave grows, the next scan notes it."""
    now = datetime.now(UTC)

    def wave(n: int, first: int = 0) -> list[tuple[str, str, Signal]]:
        return [(f"w-{i}", f"case-listing-w-{i}", Signal(
            opened_at=now - timedelta(minutes=1 + i % 50), queue="ip", policy="counterfeit",
            category="fashion", seller_id=f"U-W{i % 5}", seller_links=["payout:wave"]))
            for i in range(first, first + n)]

    c.ledger.put_signals(wave(30))
    first = await c.scan_trends("lena", request_id="record-1")
    c.ledger.put_signals(wave(15, 30))
    second = await c.scan_trends("lena", request_id="record-2")
    assert first.opened and second.noted == first.opened
    return {"trend_scan_opened_an_escalation": f"{c.schedule_id}-now-record-1",
            "escalation_opened_by_a_trend_and_told_it_grew": first.opened[0]}


async def _lease_lapsed_breached(c: CaseworkClient, env: WorkflowEnvironment,
                                 reporter: str) -> str:
    """A case whose claim lapses, whose SLA is missed, then decided: no violation."""
    ref = await c.open_case("listing:L-0049", "user_report", reporter=reporter)
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await c.claim(ref.case_id, "bob", lease_minutes=10)
    await env.sleep(timedelta(minutes=11))
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await env.sleep(timedelta(hours=25))
    await eventually(lambda: c.show(ref.case_id), lambda s: s.sla_breached)
    await c.claim(ref.case_id, "carol")
    await c.decide(ref.case_id, "carol", [], ["no_action"], "legal antique with permit")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "closed")
    return str(ref.case_id)


async def _restricted(c: CaseworkClient, subject: str) -> str:
    """A case about `subject` in its appeal window: restricted automatically or by alice."""
    ref = await c.open_case(subject, "user_report", reporter="b12", text="fake")
    case = await eventually(lambda: c.show(ref.case_id),
                            lambda s: s.state in ("queued", "appealable"))
    if case.state == "queued":
        await c.claim(ref.case_id, "alice")
        await c.decide(ref.case_id, "alice", ["counterfeit"], ["remove"], "replica")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    return str(ref.case_id)


async def lean(c: CaseworkClient, env: WorkflowEnvironment) -> dict[str, str]:
    """Review cases on the lean path (patch `lean-case-path`): its coalesced commits, its
    deadline clock through notes, a lapsed lease and a breach, a hold and a second person."""
    out: dict[str, str] = {}
    note = COMMANDS["note"]
    ref = await c.open_case("listing:L-0001", "user_report", reporter="b21", text="fake")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await c.run(note, ref.case_id, "alice", {"text": "looks like the one from last week"})
    await c.claim(ref.case_id, "alice")
    await c.run(note, ref.case_id, "alice", {"text": "checking the photos"})
    await c.decide(ref.case_id, "alice", ["counterfeit"], ["remove"], "replica")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    await env.sleep(timedelta(days=185))
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "closed")
    out["lean_noted_removed_closed"] = ref.case_id

    out["lean_lease_expired_breached_no_action"] = await _lease_lapsed_breached(c, env, "b22")

    ref = await c.open_case("seller:U-18", "user_report", reporter="b23", text="replicas")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await c.claim(ref.case_id, "sam")
    await c.hold(ref.case_id, "sam", "asked the rights owner")
    await env.sleep(timedelta(hours=1))
    await c.resume(ref.case_id, "sam")
    await c.decide(ref.case_id, "sam", ["counterfeit"], ["suspend_seller"], "replicas")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "awaiting_approval")
    await c.approve(ref.case_id, "emma")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    out["lean_held_resumed_approved"] = ref.case_id
    return out


# `python -m tests.histories.record [SET] [--force]`: the scenarios of one set (default all)
SETS = {"all": scenarios, "sent_back": sent_back, "trends": trends, "lean": lean}


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), ledger_url=f"sqlite:///{tmp}/ledger.db")
        SandboxMarketplace(settings.sandbox_db).load(*demo.generate())
        seed_directory(settings.ledger_url)
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=devserver.binary("temporal-test-server"),
            data_converter=CONVERTER)
        await add_search_attributes(env.client)
        with concurrent.futures.ThreadPoolExecutor(32) as ex:
            async with worker_module.build_worker(env.client, settings, ex):
                client = CaseworkClient(env.client, settings)
                record = SETS[sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] in SETS
                              else "all"]
                for name, case_id in (await record(client, env)).items():
                    path = HERE / f"{name}.json"
                    if path.exists() and "--force" not in sys.argv:
                        continue
                    history = await env.client.get_workflow_handle(case_id).fetch_history()
                    path.write_text(history.to_json())
                    print(f"recorded {name}: {len(history.events)} events")
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())

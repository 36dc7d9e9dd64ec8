"""Ops find stuck records of every lifecycle, each with its reason and the command that repairs
it, and explain one; the repair then lets the record complete."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
from dataclasses import replace
from typing import Any

import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment

import worker as worker_module
from client.casework import CaseworkClient
from client.ops import Ops
from config.settings import Settings
from domain.core import Subject, case_id_for
from domain.errors import InvalidInput, Refused, Unavailable
from domain.ops import StuckKind
from domain.review.models import CaseInput, CaseState
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, own_pack_worker, serving, signed_in
from tests.test_e2e_cli import cli_env, run_cli
from workflows.review import ReviewWorkflow


def _of(rows: list[Any], case_id: str) -> list[Any]:
    return [r for r in rows if r.case_id == case_id]


async def test_a_parked_case_is_found_explained_and_repaired_as_suggested(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings,
        sandbox: SandboxMarketplace, api_url: str) -> None:
    ops = Ops(dev)
    ref = await dev.open_case("listing:L-0054", "user_report", reporter="buyer-1")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    sandbox.fail("seller_contact", "refuse")
    await dev.decide(ref.case_id, "alice", ["wildlife"], ["remove"], "tortoiseshell")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "needs_attention",
                     timeout=30)
    [row] = _of(await ops.stuck(StuckKind.NEEDS_ATTENTION), ref.case_id)
    assert row.lifecycle == "review" and row.suggested.startswith(
        f"casework case retry {ref.case_id} --reason")
    env = signed_in(cli_env(dev_env, settings), api_url, dev.ledger, "ops-1")
    listed = await run_cli(env, "ops", "stuck", "--kind", "needs_attention")
    assert ref.case_id in listed.stdout and "casework case retry" in listed.stdout
    explained = await run_cli(env, "ops", "explain", ref.case_id)
    assert "needs_attention" in explained.stdout and "notify failed" in explained.stdout

    sandbox.heal()
    command = row.suggested.split("  ")[0].replace("REASON", "contact-fixed")
    await run_cli(env, *command.split()[1:])  # the suggested repair, as written, by ops
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "appealable")
    assert not _of(await ops.stuck(), ref.case_id)


async def test_an_approval_left_waiting_is_overdue_until_given(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    async with own_pack_worker(dev_env.client, settings, executor,
                               "\n[takedowns]\napproval_above = 1\napproval_sla_hours = 0.0005\n"
                               "[ops]\ngrace_minutes = 0\n") as cw:
        ops = Ops(cw)
        job = await cw.takedown(["listing:L-0241", "listing:L-0242"], "remove", "sweep",
                                "lena", ["counterfeit"])
        rows = await eventually(lambda: ops.stuck(StuckKind.OVERDUE),
                                lambda rs: bool(_of(rs, job.job_id)), timeout=30)
        [row] = _of(rows, job.job_id)
        assert row.lifecycle == "takedown" and "approval" in row.reason
        assert row.suggested == (f"casework takedown approve {job.job_id}  "
                                 "(by a senior who took no part)")
        await cw.approve_takedown(job.job_id, "sam")
        await eventually(lambda: cw.takedown_status(job.job_id),
                         lambda j: j.state == "completed")
        assert not _of(await ops.stuck(), job.job_id)


@workflow.defn(name="ReviewWorkflow", sandboxed=False)  # a test double: no re-import
class BadDeploy(ReviewWorkflow):
    """A deploy with a bug: every case fails its workflow task once it is claimed."""

    @workflow.run
    async def run(self, inp: CaseInput) -> CaseState:
        return await super().run(inp)

    async def _in_in_review(self) -> None:
        raise RuntimeError("bug in the new release")


async def test_a_failing_workflow_task_is_found_and_reset_after_the_fix(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    cw = CaseworkClient(dev_env.client, settings)
    ops = Ops(cw)
    release = [BadDeploy, *(w for w in worker_module.WORKFLOWS if w is not ReviewWorkflow)]
    async with worker_module.build_worker(dev_env.client, settings, executor, release):
        ref = await cw.open_case("listing:L-0100", "user_report", reporter="buyer-2")
        case_id = ref.case_id
        await eventually(lambda: cw.show(case_id), lambda c: c.state == "queued")
        with contextlib.suppress(Unavailable):  # the claim's task fails: no answer comes
            await cw.claim(case_id, "alice")
        rows = await eventually(lambda: ops.stuck(StuckKind.TASK_FAILING),
                                lambda rs: bool(_of(rs, case_id)), timeout=60)
    [row] = _of(rows, case_id)
    assert "WorkflowTaskFailed" in row.reason and row.suggested.startswith(
        f"casework ops reset {case_id} --reason")
    explained = await ops.explain(case_id)
    assert explained.task_attempt > 1
    with pytest.raises(InvalidInput, match="is no completed workflow task"):
        await ops.repair("reset", case_id, "ops-1", "x", to_event=1)
    # Reset while no worker polls (a fixed worker polling first may mend the task by itself
    # before ops get to it: then there is nothing to reset); the reset run waits for the fix.
    command = row.suggested.split("  ")[0].replace("REASON", "fixed-release")
    async with serving(cw) as url:
        await run_cli(signed_in(cli_env(dev_env, settings), url, cw.ledger, "ops-1"),
                      *command.split()[1:])
    async with worker_module.build_worker(dev_env.client, settings, executor):  # the fix
        case = await eventually(lambda: cw.show(case_id),
                                lambda c: c.state in ("queued", "in_review"), timeout=60)
        await eventually(lambda: ops.stuck(StuckKind.TASK_FAILING),
                         lambda rs: not _of(rs, case_id), timeout=60)
        [note] = [e for e in await cw.timeline(case_id) if e.event == "ops_repaired"]
        assert note.actor == "ops-1" and "fixed-release" in note.detail
        if case.state == "queued":  # the claim before the reset was never accepted
            await cw.claim(case_id, "alice")
        await cw.decide(case_id, "alice", [], ["no_action"], "fine")  # on the fixed code
        await eventually(lambda: cw.show(case_id), lambda c: c.state == "closed")


async def test_backlog_per_queue_and_the_workers_polling(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings) -> None:
    ops = Ops(dev)
    for listing in ("listing:L-0001", "listing:L-0049"):
        ref = await dev.open_case(listing, "user_report", reporter="buyer-3")
        await eventually(lambda r=ref: dev.show(r.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    await dev.decide(ref.case_id, "alice", ["wildlife"], ["remove"], "ivory")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "appealable")
    first = case_id_for(Subject.parse("listing:L-0001"), settings.case_prefix)
    desc = await dev.temporal.get_workflow_handle(first).describe()
    assert await desc.static_summary() == "review case about listing:L-0001"  # the UI's list
    queues = {q.queue: q for q in ops.backlog()}
    assert queues["ip"].by_state == {"queued": 1} and queues["ip"].oldest_age_h >= 0
    assert (queues["wildlife"].decided_24h, queues["wildlife"].sla_compliance_24h) == (1, 1.0)
    workers = await ops.workers()
    assert workers.ok and {p.kind for p in workers.pollers} == {"workflow", "activity"}
    unpolled = CaseworkClient(dev.temporal, replace(settings, task_queue="nobody-polls-this"))
    async with serving(unpolled) as url:
        env = signed_in(cli_env(dev_env, settings), url, dev.ledger, "ops-1")
        proc = await run_cli(env, "ops", "workers", ok=False)
    assert proc.returncode == 6 and "NO WORKER" in proc.stdout


async def test_a_batch_release_dry_run_lists_exactly_what_the_real_run_changes(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    async with own_pack_worker(dev_env.client, settings, executor,
                               "\n[ops]\nclaim_hours = 0.0003\n") as cw, serving(cw) as url:
        env = signed_in(cli_env(dev_env, settings), url, cw.ledger, "ops-1")
        held = []
        for listing in ("listing:L-0001", "listing:L-0002", "listing:L-0049"):
            ref = await cw.open_case(listing, "user_report", reporter="buyer-4")
            await eventually(lambda r=ref: cw.show(r.case_id), lambda c: c.state == "queued")
            held.append(ref.case_id)
        for case_id in held[:2]:
            await cw.claim(case_id, "alice")
        await asyncio.sleep(1.5)
        args = ("ops", "release", "--all-stuck", "--kind", "claim_too_long",
                "--reason", "alice-on-leave")
        dry = json.loads((await run_cli(env, *args, "--json")).stdout)
        assert sorted(r["case_id"] for r in dry) == sorted(held[:2])
        assert [(await cw.show(c)).state for c in held[:2]] == ["in_review"] * 2  # untouched
        done = json.loads((await run_cli(env, *args, "--yes", "--json")).stdout)
        assert sorted(r["case_id"] for r in done) == sorted(r["case_id"] for r in dry)
        for case_id in held[:2]:
            case = await cw.show(case_id)
            assert (case.state, case.assignee) == ("queued", None)
            assert case.timeline[-1].actor == "ops-1" and "alice-on-leave" in (
                case.timeline[-1].detail)
        ops = Ops(cw)
        await ops.repair("reassign", held[2], "ops-1", "urgent", to="bob")
        await ops.repair("bump", held[2], "ops-1", "press interest")
        case = await cw.show(held[2])
        assert (case.state, case.assignee, case.priority.value) == ("in_review", "bob", "P1")
        with pytest.raises(Refused, match="lacks the ops role"):
            await ops.repair("release", held[2], "alice", "x")
        with pytest.raises(Refused, match="cannot release"):
            await ops.repair("release", held[0], "ops-1", "x")
        with pytest.raises(InvalidInput, match="reason"):
            await ops.repair("release", held[2], "ops-1", "")
        proc = await run_cli(env, "ops", "bump", "--query", "CaseState = ", "--reason", "x",
                             ok=False)
        assert proc.returncode == 2 and "refused the query" in proc.stderr
        proc = await run_cli(env, "ops", "release", "--query", "WorkflowId = 'nope') OR "
                             "(TaskQueue != 'casework'", "--reason", "x", ok=False)
        assert proc.returncode == 2 and "closes a parenthesis" in proc.stderr


async def test_an_activity_retrying_is_found_and_retried_now_after_the_repair(
        dev_env: WorkflowEnvironment, settings: Settings, sandbox: SandboxMarketplace,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    async with own_pack_worker(dev_env.client, settings, executor,
                               "\n[ops]\nidle_minutes = 0\nretry_attempts = 2\n") as cw, (
            serving(cw)) as url:
        env = signed_in(cli_env(dev_env, settings), url, cw.ledger, "ops-1")
        ops = Ops(cw)
        ref = await cw.open_case("listing:L-0054", "user_report", reporter="buyer-5")
        await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "queued")
        await cw.claim(ref.case_id, "alice")
        sandbox.fail("apply_action", "error")
        await cw.decide(ref.case_id, "alice", ["wildlife"], ["remove"], "tortoiseshell")
        rows = await eventually(lambda: ops.stuck(StuckKind.ACTIVITY_RETRYING),
                                lambda rs: bool(_of(rs, ref.case_id)), timeout=60)
        [row] = _of(rows, ref.case_id)
        assert "apply_action attempt" in row.reason and "failed before acting" in row.reason
        explained = await ops.explain(ref.case_id)
        assert explained.pending_activities[0].activity == "apply_action"
        # As suggested; retried now while the drill still fails, so the activity cannot have
        # recovered on its own before the command looks (its attempts start over), then healed.
        await run_cli(env, *_filled(row.suggested).split()[1:])
        sandbox.heal()
        await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "appealable",
                         timeout=15)
        note = [e for e in (await cw.timeline(ref.case_id)) if e.event == "ops_repaired"]
        assert note and note[0].actor == "ops-1" and "repaired" in note[0].detail
        proc = await run_cli(env, "ops", "release", "case-listing-NOPE", "--reason", "x",
                             ok=False)
        assert proc.returncode == 4 and "no case" in proc.stderr
        proc = await run_cli(env, "ops", "reset", ref.case_id, "--reason", "x", ok=False)
        assert proc.returncode == 3 and "not failing" in proc.stderr


async def test_ops_cancel_ends_a_review_case_and_its_reporter_is_told(
        dev: CaseworkClient) -> None:
    ops = Ops(dev)
    ref = await dev.open_case("listing:L-0002", "user_report", reporter="buyer-7")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    result = await ops.repair("cancel", ref.case_id, "ops-1", "duplicate of a closed matter")
    assert result.done
    case = await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "closed")
    assert case.decision is not None and case.decision.decided_by == "ops-1"
    assert "cancelled by ops: duplicate" in case.decision.reason
    told = await eventually(lambda: _ledger_messages(dev, ref.case_id),
                            lambda ms: any(m["kind"] == "outcome" for m in ms))
    assert [m["recipient"] for m in told if m["kind"] == "outcome"] == ["reporter:buyer-7"]
    with pytest.raises(Refused, match="cannot cancel"):
        await ops.repair("cancel", ref.case_id, "ops-1", "again")


async def _ledger_messages(cw: CaseworkClient, case_id: str) -> list[dict[str, Any]]:
    return cw.ledger.messages(case_id)


async def test_a_breach_nobody_owns_and_a_paused_job_are_repaired_as_suggested(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    async with own_pack_worker(dev_env.client, settings, executor,
                               "\n[ops]\npaused_hours = 0.0003\ngrace_minutes = 0\n"
                               "[takedowns]\nbatch_size = 2\nrate_per_s = 4\n") as cw, (
            serving(cw)) as url:
        pack = settings.data_dir / "pack.toml"  # the general queue's P3 SLA: about a second
        pack.write_text(pack.read_text().replace(
            "[queues.general]\n", "[queues.general]\nsla_hours = { P3 = 0.0003 }\n", 1))
        env = signed_in(cli_env(dev_env, settings), url, cw.ledger, "ops-1")
        ops = Ops(cw)

        ref = await cw.open_case("listing:L-0100", "user_report", reporter="buyer-8")
        rows = await eventually(lambda: ops.stuck(StuckKind.SLA_BREACHED_UNOWNED),
                                lambda rs: bool(_of(rs, ref.case_id)), timeout=30)
        command = _filled(_of(rows, ref.case_id)[0].suggested)
        await run_cli(env, *command.split()[1:])
        case = await cw.show(ref.case_id)
        assert (case.state, case.assignee) == ("in_review", "bob")
        await cw.decide(ref.case_id, "bob", [], ["no_action"], "clean listing")
        await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "closed")

        lines = [f"listing:L-{n:04d}" for n in range(241, 251)]
        job = await cw.takedown(lines, "disable", "recall", "leo", ["recalled-products"])
        await eventually(lambda: cw.takedown_status(job.job_id), lambda j: j.progress.done >= 2)
        await cw.steer_takedown(job.job_id, "pause", "leo")
        rows = await eventually(lambda: ops.stuck(StuckKind.JOB_PAUSED),
                                lambda rs: bool(_of(rs, job.job_id)), timeout=30)
        leo = signed_in(env, url, cw.ledger, "leo")  # "by its requester"
        await run_cli(leo, *_filled(_of(rows, job.job_id)[0].suggested).split()[1:])
        done = await eventually(lambda: cw.takedown_status(job.job_id),
                                lambda j: j.state == "completed", timeout=30)
        assert done.progress.done == 10


def _filled(suggested: str) -> str:
    """A suggested command with its placeholders filled in, as an operator would."""
    for placeholder, value in (("REVIEWER", "bob"), ("REASON", "repaired")):
        suggested = suggested.replace(placeholder, value)
    return suggested.split("  ")[0]


async def test_a_lease_left_to_lapse_with_no_worker_is_found_and_heals_when_one_runs(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    extra = "\n[ops]\ngrace_minutes = 0\n"
    async with own_pack_worker(dev_env.client, settings, executor, extra) as cw:
        ref = await cw.open_case("listing:L-0002", "user_report", reporter="buyer-9")
        await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "queued")
        await cw.claim(ref.case_id, "alice", lease_minutes=1)
    await asyncio.sleep(62)  # the worker is gone: nothing fires the lease's timer
    ops = Ops(cw)
    [row] = _of(await ops.stuck(StuckKind.CLAIM_LAPSED), ref.case_id)
    assert "alice's lease ended" in row.reason and row.suggested.startswith("casework ops workers")
    async with serving(cw) as url:  # as suggested
        env = signed_in(cli_env(dev_env, settings), url, cw.ledger, "ops-1")
        assert (await run_cli(env, "ops", "workers", ok=False)).returncode == 6
    async with own_pack_worker(dev_env.client, settings, executor, extra) as cw:
        await eventually(lambda: cw.show(ref.case_id),  # and the ledger has it (ops read it)
                         lambda c: c.state == "queued" and c.committed == c.revision)
        assert not _of(await ops.stuck(), ref.case_id)
        await cw.claim(ref.case_id, "bob")
        await cw.decide(ref.case_id, "bob", [], ["no_action"], "fine")
        await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "closed")

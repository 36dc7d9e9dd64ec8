"""The takedown and shop review commands, as a person at a terminal uses them."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from client.api import CaseworkClient
from config.settings import Settings
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually
from tests.test_e2e_cli import cli_env, cli_json, run_cli


async def test_a_bulk_job_from_the_sandbox_list_approved_and_watched(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings,
        sandbox: SandboxMarketplace, tmp_path: Path) -> None:
    env = cli_env(dev_env, settings)
    ids = tmp_path / "ids.txt"
    ids.write_text((await run_cli(env, "sandbox", "list", "--shop", "S-25", "--limit", "120",
                                  "--ids")).stdout)
    assert ids.read_text().splitlines()[:2] == ["listing:L-0241", "listing:L-0242"]
    bad = tmp_path / "bad.txt"
    bad.write_text("listing:L-0241\nlisting L-0242\n\nshop:\n")
    proc = await run_cli(env, "takedown", "bulk", "--file", str(bad), "--action", "remove",
                         "--reason", "sweep", "--requester", "lena", ok=False)
    assert proc.returncode == 2 and "line 2" in proc.stderr and "line 4" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    job = await cli_json(env, "takedown", "bulk", "--file", str(ids), "--action", "remove",
                         "--policy", "counterfeit", "--reason", "sweep", "--requester", "lena")
    assert (job["state"], job["progress"]["total"]) == ("pending_approval", 120)
    proc = await run_cli(env, "takedown", "approve", job["job_id"], "--approver", "alice",
                         ok=False)
    assert proc.returncode == 3  # alice is no senior (and asked for it)
    approved = await cli_json(env, "takedown", "approve", job["job_id"], "--approver", "sam")
    assert approved["approved_by"] == "sam"
    proc = await run_cli(env, "takedown", "status", job["job_id"], "--watch")
    assert "120" in proc.stdout.splitlines()[-1]  # the bar ends with the job finished
    done = await cli_json(env, "takedown", "status", job["job_id"])
    assert done["progress"]["done"] == 120
    items = await cli_json(env, "takedown", "status", job["job_id"], "--items")
    assert {i["status"] for i in items} == {"done"} and len(items) == 120
    proc = await run_cli(env, "takedown", "resume", job["job_id"], "--requester", "lena",
                         ok=False)
    assert proc.returncode == 3 and "cannot resume" in proc.stderr


async def test_a_shop_review_from_the_cli(dev: CaseworkClient, dev_env: WorkflowEnvironment,
                                         settings: Settings) -> None:
    env = cli_env(dev_env, settings)
    review = await cli_json(env, "shop", "review", "S-02", "--requester", "ops-1")
    assert {"review_id", "state", "screened", "hits"} <= set(review)
    await eventually(lambda: dev.shop_status(review["review_id"]),
                     lambda r: r.state == "awaiting_decision", timeout=60)
    status = await run_cli(env, "shop", "status", review["review_id"])
    assert "awaiting_decision" in status.stdout and "listing:L-0015" in status.stdout
    proc = await run_cli(env, "shop", "review", "S-99", "--requester", "ops-1", ok=False)
    assert proc.returncode == 4 and "no shop 'S-99'" in proc.stderr
    proc = await run_cli(env, "shop", "decide", review["review_id"], "--decider", "sam",
                         "--outcome", "ban", "--reason", "x", ok=False)
    assert proc.returncode == 2 and "unknown outcome" in proc.stderr
    decided = await cli_json(env, "shop", "decide", review["review_id"], "--decider", "sam",
                             "--outcome", "warn", "--reason", "two breaches")
    assert decided["state"] == "enforcing" and decided["decision"]["outcome"] == "warn"

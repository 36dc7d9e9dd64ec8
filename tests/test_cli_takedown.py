"""The takedown and shop review commands, as a person at a terminal uses them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from config.settings import Settings
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually
from tests.test_e2e_cli import cli_env, cli_json, people, run_cli


async def test_a_bulk_job_from_the_sandbox_list_approved_and_watched(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings,
        sandbox: SandboxMarketplace, tmp_path: Path, api_url: str) -> None:
    env = cli_env(dev_env, settings)
    lena, alice, sam = people(env, api_url, dev, "lena", "alice", "sam")
    ids = tmp_path / "ids.txt"
    ids.write_text((await run_cli(env, "sandbox", "list", "--shop", "S-25", "--limit", "120",
                                  "--ids")).stdout)
    assert ids.read_text().splitlines()[:2] == ["listing:L-0241", "listing:L-0242"]
    bad = tmp_path / "bad.txt"
    bad.write_text("listing:L-0241\nlisting L-0242\n\nshop:\n")
    proc = await run_cli(lena, "takedown", "bulk", "--file", str(bad), "--action", "remove",
                         "--reason", "sweep", ok=False)
    assert proc.returncode == 2 and "line 2, 4 not KIND:ID" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    for hostile, why in (("/dev/zero", "not a regular file"), (str(tmp_path), "not a regular"),
                         (str(tmp_path / "nope.txt"), "cannot read"),
                         (os.path.realpath(sys.executable), "not a UTF-8 text file")):
        proc = await run_cli(lena, "takedown", "bulk", "--file", hostile, "--action", "remove",
                             "--policy", "counterfeit", "--reason", "sweep", ok=False)
        assert proc.returncode == 2 and why in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""
    secret = tmp_path / "secret.txt"
    secret.write_text("root:hunter2:0:0\n")
    proc = await run_cli(lena, "takedown", "bulk", "--file", str(secret), "--action", "remove",
                         "--policy", "counterfeit", "--reason", "sweep", ok=False)
    assert proc.returncode == 2 and "hunter2" not in proc.stderr  # no line of it echoed
    job = await cli_json(lena, "takedown", "bulk", "--file", str(ids), "--action", "remove",
                         "--policy", "counterfeit", "--reason", "sweep")
    assert (job["state"], job["progress"]["total"]) == ("pending_approval", 120)
    proc = await run_cli(alice, "takedown", "approve", job["job_id"], ok=False)
    assert proc.returncode == 3 and "lacks the senior role" in proc.stderr
    proc = await run_cli(lena, "takedown", "approve", job["job_id"], ok=False)
    assert proc.returncode == 3 and "lacks the senior role" in proc.stderr
    approved = await cli_json(sam, "takedown", "approve", job["job_id"])
    assert approved["approved_by"] == "sam"
    proc = await run_cli(sam, "takedown", "status", job["job_id"], "--watch")
    assert "120" in proc.stdout.splitlines()[-1]  # the bar ends with the job finished
    done = await cli_json(sam, "takedown", "status", job["job_id"])
    assert done["progress"]["done"] == 120
    items = await cli_json(sam, "takedown", "status", job["job_id"], "--items")
    assert {i["status"] for i in items} == {"done"} and len(items) == 120
    proc = await run_cli(lena, "takedown", "resume", job["job_id"], ok=False)
    assert proc.returncode == 3 and "cannot resume" in proc.stderr


async def test_a_shop_review_from_the_cli(dev: CaseworkClient, dev_env: WorkflowEnvironment,
                                         settings: Settings, api_url: str) -> None:
    ops, sam = people(cli_env(dev_env, settings), api_url, dev, "ops-1", "sam")
    review = await cli_json(ops, "shop", "review", "S-02")
    assert {"review_id", "state", "screened", "hits"} <= set(review)
    await eventually(lambda: dev.shop_status(review["review_id"]),
                     lambda r: r.state == "awaiting_decision", timeout=60)
    status = await run_cli(sam, "shop", "status", review["review_id"])
    assert "awaiting_decision" in status.stdout and "listing:L-0015" in status.stdout
    proc = await run_cli(ops, "shop", "review", "S-99", ok=False)
    assert proc.returncode == 4 and "no shop 'S-99'" in proc.stderr
    proc = await run_cli(sam, "shop", "decide", review["review_id"], "--outcome", "ban",
                         "--reason", "x", ok=False)
    assert proc.returncode == 2 and "outcome: Input should be" in proc.stderr
    decided = await cli_json(sam, "shop", "decide", review["review_id"], "--outcome", "warn",
                             "--reason", "two breaches")
    assert decided["state"] == "enforcing" and decided["decision"]["outcome"] == "warn"

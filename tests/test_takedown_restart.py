"""A 10,000-item takedown survives its worker killed twice mid-batch: every item acted on
exactly once, the counts exact, no run's history near 10,000 events."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from config.settings import ROOT, Settings
from domain.core import Action
from marketplace import demo
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, polling
from tests.test_e2e_cli import cli_env

CASEWORK = str(Path(sys.executable).parent / "casework")
N = 10_000


def _load(sandbox: SandboxMarketplace) -> list[str]:
    sellers, shops, _ = demo.generate()
    rows = [{"id": f"BULK-{i:05d}", "shop_id": shops[i % len(shops)]["id"],
             "title": f"Recalled charger no. {i}", "description": "model X-100",
             "category": "electronics", "price": 9.0, "status": "active", "flags": [],
             "image_hashes": [], "created_on": "2026-06-01"} for i in range(N)]
    sandbox.load(sellers, shops, rows)
    return [f"listing:{r['id']}" for r in rows]


async def test_ten_thousand_items_with_the_worker_killed_twice(
        dev_env: WorkflowEnvironment, settings: Settings, sandbox: SandboxMarketplace) -> None:
    pack = settings.data_dir / "pack.toml"
    shutil.copy(ROOT / "policies" / "pack.toml", pack)
    with pack.open("a") as f:  # small batches: the job continues as new at least once
        f.write("\n[takedowns]\nbatch_size = 20\nrate_per_s = 5000\n")
    env = {**cli_env(dev_env, settings), "CASEWORK_POLICY_PACK": str(pack)}
    log = (settings.data_dir / "worker.log").open("ab")
    start = lambda: subprocess.Popen([CASEWORK, "worker"], env=env,  # noqa: E731
                                     stdout=log, stderr=subprocess.STDOUT)
    workers = [start()]
    cw = CaseworkClient(dev_env.client, settings)
    lines = _load(sandbox)
    try:
        await polling(cw, workers[0].pid)
        job = await cw.takedown([*lines, *lines[:100]], "disable", "recalled charger model",
                                "leo", ["recalled-products"])
        assert job.progress.total == N  # the repeated hundred counted once
        await cw.approve_takedown(job.job_id, "sam")
        for reached in (N // 4, N * 3 // 5):  # kill while a batch is in flight
            await eventually(lambda: cw.takedown_status(job.job_id),
                             lambda j, at=reached: j.progress.done >= at and j.in_flight,
                             timeout=240, interval=0.05)
            workers[-1].send_signal(signal.SIGKILL)
            workers[-1].wait(timeout=10)
            workers.append(start())
        done = await eventually(lambda: cw.takedown_status(job.job_id),
                                lambda j: j.state == "completed", timeout=400, interval=0.5)
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=10)
    p = done.progress
    assert (p.done, p.failed, p.skipped, p.remaining) == (N, 0, 0, 0)
    acted = sandbox.enforcement_counts(Action.DISABLE)
    assert len(acted) == N and set(acted.values()) == {1}  # every item, each exactly once
    assert {i.status for i in cw.takedown_items(job.job_id)} == {"done"}
    statements = {s["puid"] for s in cw.statements() if s["puid"].startswith(job.job_id)}
    assert len(statements) == N
    runs = [(await dev_env.client.get_workflow_handle(job.job_id, run_id=r.run_id).describe())
            .history_length
            async for r in dev_env.client.list_workflows(f"WorkflowId = '{job.job_id}'")]
    assert len(runs) >= 2 and min(runs) > 1_000  # continued as new, each run counted
    assert max(runs) < 10_000

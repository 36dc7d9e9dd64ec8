"""Items/s of a bulk takedown against bare Temporal activities, with the worker's and the dev
server's peak memory and the largest history of the job's runs.

    python bench/bulk_takedown.py [--n 100000] [--batch 500] [--json]

One dev server (SQLite file, WAL) on a folder of its own, N listings on the sandbox marketplace:
- casework: `casework worker` in a process of its own runs one TakedownWorkflow (`disable` on
  the N listings, unpaced, no approval wait: the pack's `[takedowns]` says so) from the client's
  `takedown` until the job is `completed` and its sellers told; every listing acted on once,
  with its statement of reasons;
- bare: in the same run, on another task queue, a workflow runs the same count of no-op
  activities, `--batch` at a time, continuing as new as it goes: what Temporal alone costs.

`worker_peak_rss_mb` is the casework worker's high-water mark (VmHWM), `server_peak_rss_mb` the
dev server's over the whole run.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bare import BareBulkWorkflow, act_on_item  # noqa: E402
from harness import add_reviewers, dev_stack, load_listings, peak_rss_mb, report  # noqa: E402
from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from client.casework import CaseworkClient  # noqa: E402
from domain.core import Action  # noqa: E402
from marketplace.sandbox import SandboxMarketplace  # noqa: E402


async def run_bare(client: Client, n: int, batch: int) -> float:
    queue = "bench-bare-bulk"
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
        async with Worker(client, task_queue=queue, workflows=[BareBulkWorkflow],
                          activities=[act_on_item], activity_executor=pool,
                          max_concurrent_activities=32):
            t = time.perf_counter()
            await client.execute_workflow(BareBulkWorkflow.run, args=[n, batch],
                                          id=f"bare-bulk-{n}", task_queue=queue)
            return time.perf_counter() - t


async def run_casework(cw: CaseworkClient, lines: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    job = await cw.takedown(lines, Action.DISABLE, "bench: recalled model", "lead-0",
                            ["recalled-products"])
    while not (job.state == "completed" and job.sellers_notified):
        if job.state not in ("planned", "executing", "completed"):
            raise RuntimeError(f"the job ended {job.state}: {job}")
        await asyncio.sleep(0.5)
        job = await cw.takedown_status(job.job_id)
    elapsed = time.perf_counter() - t
    if job.progress.done != len(lines):
        raise RuntimeError(f"done {job.progress.done} of {len(lines)}")
    return elapsed, job.job_id


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
        data = Path(tmp)
        async with dev_stack(data, f"[takedowns]\nbatch_size = {args.batch}\n"
                                   f"rate_per_s = 1000000\napproval_above = {args.n}\n") as stack:
            client, cw = stack.client, stack.cw
            lines = load_listings(SandboxMarketplace(stack.settings.sandbox_db), args.n, "BULK")
            add_reviewers(cw.ledger, 1)
            with (data / "worker.log").open("ab") as log:
                worker = stack.casework("worker", log=log)
            try:
                elapsed, job_id = await run_casework(cw, lines)
                worker_rss = peak_rss_mb(worker.pid)
                acted = SandboxMarketplace(stack.settings.sandbox_db).enforcement_counts(
                    Action.DISABLE)
                runs = [(await client.get_workflow_handle(job_id, run_id=r.run_id).describe())
                        .history_length
                        async for r in client.list_workflows(f"WorkflowId = '{job_id}'")]
                bare_elapsed = await run_bare(client, args.n, args.batch)
                server_rss = peak_rss_mb(stack.server.pid)
            finally:
                worker.terminate()
                worker.wait(timeout=30)
    report({
        "n": args.n, "batch": args.batch,
        "items_per_s": round(args.n / elapsed, 1),
        "bare_items_per_s": round(args.n / bare_elapsed, 1),
        "ratio": round(bare_elapsed / elapsed, 3),
        "worker_peak_rss_mb": worker_rss, "server_peak_rss_mb": server_rss,
        "max_history_events": max(runs), "runs": len(runs),
        "acted_once": len(acted) == args.n and set(acted.values()) == {1},
    }, args.json)


if __name__ == "__main__":
    asyncio.run(main())

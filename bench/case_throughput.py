"""Cases/s through open → screening → claim → decide → enforce → notify, against a bare baseline.

Both run on one dev server (SQLite file, WAL) with one in-process worker each, in the same run:
- casework: N ReviewWorkflows, each opened by update-with-start, claimed and decided by Update,
  until the ledger shows it `appealable` (enforced, statement issued, seller notified);
- bare: N minimal workflows doing the same number of activities, local activities and Updates
  with no-op bodies and no domain logic, until the last activity has run.

    python bench/case_throughput.py [--n 200] [--concurrency 20] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bare import BareWorkflow, done, noop  # noqa: E402
from temporalio.client import Client, WithStartWorkflowOperation  # noqa: E402
from temporalio.common import WorkflowIDConflictPolicy  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import PollerBehaviorAutoscaling, Worker  # noqa: E402

import worker as worker_module  # noqa: E402
from client.api import CaseworkClient  # noqa: E402
from domain.models import Action  # noqa: E402
from marketplace import demo  # noqa: E402
from marketplace.sandbox import SandboxMarketplace  # noqa: E402
from stack import devserver  # noqa: E402
from stack.settings import Settings  # noqa: E402
from workflows import search_attributes  # noqa: E402


def pct(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100)[int(q) - 1], 1) if len(values) > 1 else 0.0


async def drive(n: int, concurrency: int, one: callable) -> tuple[float, list[float], list[float]]:
    claims: list[float] = []
    decides: list[float] = []
    sem = asyncio.Semaphore(concurrency)

    async def run(i: int) -> None:
        async with sem:
            await one(i, claims, decides)

    start = time.perf_counter()
    await asyncio.gather(*(run(i) for i in range(n)))
    return start, claims, decides


async def bench_casework(client: Client, settings: Settings, n: int, concurrency: int,
                         listings: list[str]) -> dict[str, float]:
    cw = CaseworkClient(client, settings)

    async def one(i: int, claims: list[float], decides: list[float]) -> None:
        ref = await cw.open_case(listings[i], "user_report",
                                 reporter=f"buyer-{i}", report_id=f"bench-{i}")
        t = time.perf_counter()
        await cw.claim(ref.case_id, f"reviewer-{i % 7}")
        claims.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        await cw.decide(ref.case_id, f"reviewer-{i % 7}", ["counterfeit"], [Action.REMOVE],
                        "bench decision")
        decides.append((time.perf_counter() - t) * 1000)

    start, claims, decides = await drive(n, concurrency, one)
    while len(cw.ledger.queue(states=("appealable",), limit=n + 1)) < n:
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - start
    return {"per_s": n / elapsed, "claim_p50_ms": pct(claims, 50), "claim_p99_ms": pct(claims, 99),
            "decide_p50_ms": pct(decides, 50), "decide_p99_ms": pct(decides, 99)}


async def bench_bare(client: Client, n: int, concurrency: int) -> dict[str, float]:
    queue = f"bare-{uuid.uuid4().hex[:6]}"
    with concurrent.futures.ThreadPoolExecutor(32) as ex:
        async with Worker(client, task_queue=queue, workflows=[BareWorkflow], activities=[noop],
                          activity_executor=ex, max_concurrent_activities=32,
                          workflow_task_poller_behavior=PollerBehaviorAutoscaling()):

            async def one(i: int, claims: list[float], decides: list[float]) -> None:
                wid = f"bare-{queue}-{i}"
                op = WithStartWorkflowOperation(
                    BareWorkflow.run, "x", id=wid, task_queue=queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
                await client.execute_update_with_start_workflow(
                    BareWorkflow.step_update, "open", start_workflow_operation=op)
                handle = client.get_workflow_handle(wid)
                t = time.perf_counter()
                await handle.execute_update(BareWorkflow.step_update, "claim")
                claims.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                await handle.execute_update(BareWorkflow.step_update, "decide")
                decides.append((time.perf_counter() - t) * 1000)

            start, claims, decides = await drive(n, concurrency, one)
            while done() < n:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
    return {"per_s": n / elapsed, "claim_p99_ms": pct(claims, 99),
            "decide_p99_ms": pct(decides, 99)}


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), ledger_url=f"sqlite:///{tmp}/ledger.db",
                            task_queue="bench-casework", case_prefix="bench")
        worker_module.use_bytecode_cache(settings)
        sandbox = SandboxMarketplace(settings.sandbox_db)
        sellers, shops, _ = demo.generate()
        # One listing per case, each a rule hit below the auto-enforce threshold: every case
        # is screened, queued, claimed and decided by a person.
        bench_listings = [{
            "id": f"B-{i:05d}", "shop_id": shops[i % len(shops)]["id"],
            "title": f"Gucci belt dupe no. {i}", "description": "unbranded dupe",
            "category": "fashion", "price": 25.0, "status": "active", "flags": [],
            "image_hashes": [], "created_on": "2026-06-01"} for i in range(args.n)]
        sandbox.load(sellers, shops, bench_listings)
        listings = [f"listing:{row['id']}" for row in bench_listings]
        # The dev server prints a banner on its stdout: send it to stderr, keep stdout for us.
        saved_stdout = os.dup(1)
        os.dup2(2, 1)
        try:
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=devserver.binary("temporal"),
                search_attributes=search_attributes.ALL, data_converter=pydantic_data_converter,
                dev_server_extra_args=["--db-filename", f"{tmp}/temporal.db",
                                       *devserver.extra_args()])
        finally:
            os.dup2(saved_stdout, 1)
            os.close(saved_stdout)
        try:
            with concurrent.futures.ThreadPoolExecutor(32) as ex:
                async with worker_module.build_worker(env.client, settings, ex):
                    cases = await bench_casework(env.client, settings, args.n, args.concurrency,
                                                 listings)
            bare = await bench_bare(env.client, args.n, args.concurrency)
        finally:
            await env.shutdown()
    result = {
        "n": args.n, "concurrency": args.concurrency,
        "cases_per_s": round(cases["per_s"], 2), "bare_per_s": round(bare["per_s"], 2),
        "ratio": round(cases["per_s"] / bare["per_s"], 3),
        "claim_p50_ms": cases["claim_p50_ms"], "claim_p99_ms": cases["claim_p99_ms"],
        "decide_p50_ms": cases["decide_p50_ms"], "decide_p99_ms": cases["decide_p99_ms"],
        "bare_claim_p99_ms": bare["claim_p99_ms"], "bare_decide_p99_ms": bare["decide_p99_ms"],
    }
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>20}: {v}")


if __name__ == "__main__":
    asyncio.run(main())

"""Cases/s through open → screening → claim → decide → enforce → notify, against a bare baseline;
intake, claim and decide round trips under that load.

Both run on one dev server (SQLite file, WAL) with one in-process worker each, in alternating
rounds of the same run:
- casework: N ReviewWorkflows, each opened by update-with-start, claimed and decided by Update,
  until the ledger shows it `appealable` (enforced, statement issued, seller notified);
- bare: N minimal workflows doing the same number of activities, local activities and Updates
  with no-op bodies and no domain logic, until the last activity has run.

    python bench/case_throughput.py [--n 200] [--concurrency 20] [--rounds 4] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bare import BareWorkflow, done, noop  # noqa: E402
from harness import add_reviewers, load_listings, pack_with, report  # noqa: E402
from history_cost import per_workflow  # noqa: E402
from temporalio.client import Client, WithStartWorkflowOperation  # noqa: E402
from temporalio.common import WorkflowIDConflictPolicy  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import PollerBehaviorAutoscaling, Worker  # noqa: E402

import worker as worker_module  # noqa: E402
from client.casework import CaseworkClient  # noqa: E402
from config import search_attributes  # noqa: E402
from config.codec import Keyring, data_converter, ensure_dev_keys  # noqa: E402
from config.settings import Settings  # noqa: E402
from domain.core import Action  # noqa: E402
from marketplace.sandbox import SandboxMarketplace  # noqa: E402
from stack import devserver  # noqa: E402

REVIEWERS = 7
COST_SAMPLE = 20  # histories read for events and billed actions per case


def pct(values: list[float], q: float) -> float:
    return round(statistics.quantiles(values, n=100)[int(q) - 1], 1) if len(values) > 1 else 0.0


class Casework:
    """Drives ReviewWorkflows through the casework client."""

    name = "casework"

    def __init__(self, client: Client, settings: Settings, listings: list[str]) -> None:
        self.cw = CaseworkClient(client, settings)
        self.listings = listings
        add_reviewers(self.cw.ledger, REVIEWERS)
        self.screening: set[str] = set()

    async def open(self, i: int) -> str:
        ref = await self.cw.open_case(self.listings[i], "user_report", reporter=f"buyer-{i}",
                                      report_id=f"bench-{i}")
        if ref.state == "screening":
            self.screening.add(ref.case_id)
        return ref.case_id

    async def ready(self, case_id: str) -> None:
        """Intake answers within ~1 s, under load while still `screening`: a reviewer only
        claims what is queued (not timed)."""
        while case_id in self.screening:
            await asyncio.sleep(0.05)
            if (await self.cw.show(case_id)).state != "screening":
                self.screening.discard(case_id)

    async def claim(self, i: int, case_id: str) -> None:
        await self.cw.claim(case_id, f"reviewer-{i % REVIEWERS}")

    async def decide(self, i: int, case_id: str) -> None:
        await self.cw.decide(case_id, f"reviewer-{i % REVIEWERS}", ["counterfeit"], [Action.REMOVE],
                             "bench decision")

    def finished(self) -> int:
        return self.cw.ledger.count(("appealable",))


class Bare:
    """Drives BareWorkflows with the same calls and no casework code."""

    name = "bare"

    def __init__(self, client: Client, queue: str) -> None:
        self.client, self.queue = client, queue

    async def open(self, i: int) -> str:
        wid = f"{self.queue}-{i}"
        op = WithStartWorkflowOperation(BareWorkflow.run, "x", id=wid, task_queue=self.queue,
                                        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
        await self.client.execute_update_with_start_workflow(
            BareWorkflow.step_update, "open", start_workflow_operation=op)
        return wid

    async def ready(self, wid: str) -> None:
        """Intake answered once screened."""

    async def claim(self, i: int, wid: str) -> None:
        await self.client.get_workflow_handle(wid).execute_update(BareWorkflow.step_update,
                                                                  "claim")

    async def decide(self, i: int, wid: str) -> None:
        await self.client.get_workflow_handle(wid).execute_update(BareWorkflow.step_update,
                                                                  "decide")

    def finished(self) -> int:
        return done()


class Tally:
    def __init__(self) -> None:
        self.elapsed, self.count = 0.0, 0
        self.intakes: list[float] = []
        self.claims: list[float] = []
        self.decides: list[float] = []
        self.ids: list[str] = []


async def run_round(kind: Casework | Bare, indices: range, concurrency: int,
                    tally: Tally) -> None:
    """Drive `indices` through open, claim, decide; time until the last one has finished."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            t = time.perf_counter()
            ident = await kind.open(i)
            tally.intakes.append((time.perf_counter() - t) * 1000)
            tally.ids.append(ident)
            await kind.ready(ident)
            t = time.perf_counter()
            await kind.claim(i, ident)
            tally.claims.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            await kind.decide(i, ident)
            tally.decides.append((time.perf_counter() - t) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in indices))
    while kind.finished() < indices.stop:
        await asyncio.sleep(0.02)
    tally.elapsed += time.perf_counter() - start
    tally.count += len(indices)


def _pack_without_shop_reviews(tmp: Path) -> Path:
    """The shipped pack with the strike threshold out of reach. The bench's listings belong to
    the demo's ~30 shops, so every shop would pass 3 strikes within a round and start a shop
    review: screening the shop's listings, filing the hits on review cases and opening
    follow-ups, work beyond the case path this bench compares with bare Temporal. Strikes are
    still counted (a ledger write per restriction)."""
    return pack_with(tmp, "[shop_reviews]\nstrike_threshold = 1000000\n")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), ledger_url=f"sqlite:///{tmp}/ledger.db",
                            task_queue="bench-casework", case_prefix="bench",
                            policy_pack=_pack_without_shop_reviews(Path(tmp)))
        worker_module.use_bytecode_cache(settings)
        ensure_dev_keys(settings)
        sandbox = SandboxMarketplace(settings.sandbox_db)
        listings = load_listings(sandbox, args.n, "B")
        # The dev server prints a banner on its stdout: send it to stderr, keep stdout for us.
        saved_stdout = os.dup(1)
        os.dup2(2, 1)
        try:
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=devserver.binary("temporal"),
                search_attributes=search_attributes.ALL,
                data_converter=data_converter(Keyring.configured(settings)),
                dev_server_extra_args=["--db-filename", f"{tmp}/temporal.db",
                                       *devserver.extra_args()])
        finally:
            os.dup2(saved_stdout, 1)
            os.close(saved_stdout)
        tallies = {"casework": Tally(), "bare": Tally()}
        try:
            with concurrent.futures.ThreadPoolExecutor(64) as ex:
                bare_queue = f"bare-{uuid.uuid4().hex[:6]}"
                async with (
                    worker_module.build_worker(env.client, settings, ex),
                    Worker(env.client, task_queue=bare_queue, workflows=[BareWorkflow],
                           activities=[noop], activity_executor=ex, max_concurrent_activities=32,
                           workflow_task_poller_behavior=PollerBehaviorAutoscaling()),
                ):
                    kinds = [Casework(env.client, settings, listings), Bare(env.client, bare_queue)]
                    # Alternate in rounds, each kind first in turn: both meet the same server
                    # state (its SQLite file grows with every open workflow).
                    size = -(-args.n // args.rounds)
                    for r in range(args.rounds):
                        indices = range(r * size, min((r + 1) * size, args.n))
                        for kind in kinds if r % 2 == 0 else kinds[::-1]:
                            await run_round(kind, indices, args.concurrency, tallies[kind.name])
                    costs = {name: await per_workflow(env.client, t.ids[:COST_SAMPLE])
                             for name, t in tallies.items()}
        finally:
            await env.shutdown()
    cases, bare = tallies["casework"], tallies["bare"]
    result = {
        "n": args.n, "concurrency": args.concurrency, "rounds": args.rounds,
        "cases_per_s": round(cases.count / cases.elapsed, 2),
        "bare_per_s": round(bare.count / bare.elapsed, 2),
        "ratio": round(bare.elapsed / cases.elapsed, 3),
        "intake_p50_ms": pct(cases.intakes, 50), "intake_p99_ms": pct(cases.intakes, 99),
        "bare_intake_p99_ms": pct(bare.intakes, 99),
        "claim_p50_ms": pct(cases.claims, 50), "claim_p99_ms": pct(cases.claims, 99),
        "decide_p50_ms": pct(cases.decides, 50), "decide_p99_ms": pct(cases.decides, 99),
        "bare_claim_p99_ms": pct(bare.claims, 99), "bare_decide_p99_ms": pct(bare.decides, 99),
        "intake_p99_vs_bare": round(pct(cases.intakes, 99) / max(pct(bare.intakes, 99), 0.1), 2),
        "events_per_case": costs["casework"]["events"], "bare_events": costs["bare"]["events"],
        "events_vs_bare": round(costs["casework"]["events"] / costs["bare"]["events"], 2),
        "billed_per_case": costs["casework"]["billed"], "bare_billed": costs["bare"]["billed"],
        "history": costs,
    }
    report(result, args.json)


if __name__ == "__main__":
    asyncio.run(main())

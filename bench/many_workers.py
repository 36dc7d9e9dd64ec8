"""Cases/s with one `casework worker` and with three, on one dev server and one PostgreSQL ledger.

    python bench/many_workers.py [--n 300] [--concurrency 24] [--rounds 2] [--json]

The load is the many-processes test's (tests/test_many_processes.py, `harness.HttpLoad`): N cases
opened, claimed and decided over HTTP through two `casework api` processes as a marketplace's
service and seven signed-in reviewers, half of them removals (statement of reasons and seller
notice), half closed with no action; timed until every case is at its end in the ledger. Each
round runs it once with 1 worker and once with 3 (alternating which goes first), each run on a
task queue and a new ledger database of its own, on the same dev server (SQLite file, WAL) and
PostgreSQL cluster. Besides cases/s and the ratio it prints where the CPU went, as cores used
on average (from /proc): the dev server, the workers, the API processes, PostgreSQL, this
driver, the whole machine out of `cores`, and `others`: what the machine spent on anything
else (on a shared machine, its other work); then casework's CPU per case and the cases/s the
machine's cores would carry at that cost (`cpu_ceiling`): a ratio above
cpu_ceiling / workers_1_cases_per_s cannot be had on this machine, however many workers run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import (  # noqa: E402
    Fleet,
    HttpLoad,
    Stack,
    add_reviewers,
    api_token,
    cpu_s,
    dev_stack,
    load_listings,
    report,
)

from client.casework import CaseworkClient  # noqa: E402
from client.credentials import Credentials  # noqa: E402
from marketplace.sandbox import SandboxMarketplace  # noqa: E402
from tests import pg  # noqa: E402  (a throwaway PostgreSQL cluster, as the tests use)

REVIEWERS = 7
APIS = 2
# 300 restrictions over the demo's 25 shops would start a shop review each: not this load.
NO_SHOP_REVIEWS = "[shop_reviews]\nstrike_threshold = 1000000\n"
TICK = os.sysconf("SC_CLK_TCK")


def used_s(pid: int) -> float:
    """A process's CPU seconds so far; 0 once it is gone (a database backend that ended)."""
    try:
        return cpu_s(pid)
    except OSError:
        return 0.0


def machine_busy_s() -> float:
    """CPU seconds every core of the machine has spent busy (not idle or waiting on I/O)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / TICK


def postgres_pids(cluster: pg.Cluster) -> list[int]:
    """The cluster's postmaster and its backends."""
    master = int((cluster.data / "postmaster.pid").read_text().split()[0])
    children = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()
                and _ppid(int(p.name)) == master]
    return [master, *children]


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


class Usage:
    """CPU seconds per component over a run."""

    def __init__(self, parts: dict[str, list[int]]) -> None:
        self.parts = parts
        self.start = self._now()

    def _now(self) -> dict[str, float]:
        now = {name: sum(used_s(p) for p in pids) for name, pids in self.parts.items()}
        return {**now, "driver": sum(os.times()[:2]), "machine": machine_busy_s()}

    def since(self) -> dict[str, float]:
        return {k: v - self.start[k] for k, v in self._now().items()}


async def run(stack: Stack, cluster: pg.Cluster, workers: int, tag: str, n: int,
              concurrency: int, data: Path) -> tuple[float, dict[str, float]]:
    """One run: its seconds and the CPU seconds of each component."""
    with pg.database(cluster.url) as url:
        settings = replace(stack.settings, ledger_url=url, task_queue=f"bench-{tag}",
                           case_prefix=tag)
        cw = CaseworkClient(stack.client, settings)
        fleet = Fleet({**stack.env, "CASEWORK_LEDGER_URL": url,
                       "CASEWORK_TASK_QUEUE": settings.task_queue,
                       "CASEWORK_CASE_PREFIX": tag}, data)
        fleet.start(workers, APIS)
        try:
            add_reviewers(cw.ledger, REVIEWERS)
            credentials = Credentials(cw.ledger)
            people = [f"reviewer-{i}" for i in range(REVIEWERS)]
            for who in people:
                credentials.set_password(who, f"{who}-password")
            _, intake = credentials.create_token("marketplace", ["intake", "read"])
            listings = load_listings(SandboxMarketplace(settings.sandbox_db), n, tag.upper())
            await fleet.ready(cw)
            tokens = [await api_token(fleet.urls[i % APIS], who, f"{who}-password")
                      for i, who in enumerate(people)]
            load = HttpLoad(fleet.urls, intake, tokens, listings, tag, give_up_s=900)
            usage = Usage({"dev_server": [stack.server.pid],
                           "workers": [p.pid for p in fleet.workers],
                           "apis": [p.pid for p in fleet.apis],
                           "postgres": postgres_pids(cluster)})
            started = time.perf_counter()
            await load.run(concurrency)
            while left := await load.finished(cw.ledger):
                if time.perf_counter() - started > 900:
                    raise TimeoutError(f"{len(left)} case(s) short of their end")
                await asyncio.sleep(0.05)
            return time.perf_counter() - started, usage.since()
        finally:
            fleet.stop()
            cw.ledger.close()


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--concurrency", type=int, default=24)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    runs: dict[int, list[tuple[float, dict[str, float]]]] = {1: [], 3: []}
    with (tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp,
          pg.throwaway_cluster() as cluster):
        async with dev_stack(Path(tmp), NO_SHOP_REVIEWS) as stack:
            for r in range(args.rounds):
                for workers in (1, 3) if r % 2 == 0 else (3, 1):
                    runs[workers].append(await run(stack, cluster, workers, f"w{workers}r{r}",
                                                   args.n, args.concurrency, Path(tmp)))
    result: dict[str, object] = {"n": args.n, "concurrency": args.concurrency,
                                 "rounds": args.rounds, "apis": APIS, "cores": os.cpu_count()}
    for workers, done in runs.items():
        elapsed = sum(s for s, _ in done)
        result[f"workers_{workers}_cases_per_s"] = round(args.n * len(done) / elapsed, 2)
        cores = {k: round(sum(u[k] for _, u in done) / elapsed, 2) for k in done[0][1]}
        cores["others"] = round(cores["machine"] - sum(v for k, v in cores.items()
                                                       if k != "machine"), 2)
        result[f"workers_{workers}_cores_used"] = cores
        result[f"workers_{workers}_runs_cases_per_s"] = [round(args.n / s, 2) for s, _ in done]
        # casework's CPU per case (everything but other work on the machine), and the cases/s
        # the machine's cores would carry at that cost with nothing else running
        ours = sum(sum(v for k, v in u.items() if k != "machine") for _, u in done)
        per_case = ours / (args.n * len(done))
        result[f"workers_{workers}_cpu_ms_per_case"] = round(per_case * 1000, 1)
        result[f"workers_{workers}_cpu_ceiling_cases_per_s"] = round(
            (os.cpu_count() or 1) / per_case, 2)
    result["ratio"] = round(result["workers_3_cases_per_s"]  # type: ignore[operator]
                            / result["workers_1_cases_per_s"], 2)  # type: ignore[operator]
    report(result, args.json)


if __name__ == "__main__":
    asyncio.run(main())

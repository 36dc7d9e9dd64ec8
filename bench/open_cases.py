"""N review cases open at once: claiming, the console, ops' views, memory, disk and a restart.

    python bench/open_cases.py [--n 100000] [--concurrency 32] [--claims 200] [--claim-gap 0.5]
                               [--sessions 20] [--rounds 10] [--think 1.0] [--max-cached N]
                               [--baseline FILE] [--data DIR] [--json]

One dev server (SQLite file, WAL, the flags `make run` gives it), one `casework worker` and one
`casework api` process. N listings of the sandbox (rule hits below the auto-enforce threshold)
are each reported once through intake (`CaseworkClient.open_case`, update-with-start) by
`--concurrency` reporters at a time: N distinct review cases, screened into a queue. Progress
goes to stderr. The open rate counts from the first report to the last case queued.

Then, with all N open (the claims below take a few hundred of them into review):
- claim-next p50/p99 in process (`CaseworkClient.claim_next`) and over HTTP (`POST
  /api/queues/{queue}/claim-next`, a reviewer's token), one claim at a time, `--claim-gap` s
  apart (a reviewer's next claim comes after a read, not at once), with the worker's and the
  server's CPU time per claim (what the machine's other load does not change);
- the console's queue page (`/`) and case page (a case drawn at random from the N) p50/p95
  with `--sessions` signed-in sessions reading each page `--think` s on average;
- `casework ops stuck --json` and `casework ops backlog --json` end to end (a process of its
  own, signed in as ops, through the API): the median of 3;
- worker and Temporal server RSS now and at peak (`--max-cached` sets the worker's
  `CASEWORK_MAX_CACHED_WORKFLOWS`); with `--baseline` (this bench's JSON at a smaller N) the
  worker's RSS as a multiple of the baseline's;
- disk per open case: the Temporal SQLite file and the ledger (with their WAL files) over N;
- a stack restart: server, worker and API stopped and started again on the same files, and
  the time from the start to the first successful claim-next over HTTP.
The machine's load average is recorded at each step: on a shared machine the latencies move
with it. Targets: claim-next p99 <= 100 ms in process; console pages p95 <= 200 ms; ops stuck <= 3 s end
to end; worker RSS <= 1.2 x the baseline's. `--data DIR` keeps the stack's files there (and a
run on a folder kept before opens only the cases it lacks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from harness import (  # noqa: E402
    Stack,
    add_reviewers,
    again,
    console_session,
    cpu_s,
    dev_stack,
    free_port,
    load_listings,
    peak_rss_mb,
    percentile_ms,
    report,
    rss_mb,
    timed_cli,
)

from client.credentials import Credentials  # noqa: E402
from domain.core import Subject, case_id_for  # noqa: E402
from domain.errors import Unavailable  # noqa: E402
from domain.people import Person, Role  # noqa: E402
from marketplace.sandbox import SandboxMarketplace  # noqa: E402
from stack import devserver  # noqa: E402

PREFIX = "OC"
OPS = "ops-0"
GIVE_UP_S = 600  # a report unanswered this long (Temporal down, not busy) ends the bench


def say(text: str) -> None:
    print(f"[open_cases {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class Processes:
    """The stack's `casework worker` and `casework api`, logging into its folder."""

    def __init__(self, stack: Stack, api_port: int) -> None:
        self.stack, self.api_port = stack, api_port
        self.worker: subprocess.Popen[bytes] | None = None
        self.api: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        data = self.stack.settings.data_dir
        with (data / "worker.log").open("ab") as wlog, (data / "api.log").open("ab") as alog:
            self.worker = self.stack.casework("worker", log=wlog)
            self.api = self.stack.casework("api", "--port", str(self.api_port), log=alog)
        devserver.wait_for_port(self.api_port, timeout=120)

    def stop(self) -> None:
        for proc in (self.api, self.worker):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextlib.asynccontextmanager
async def running(stack: Stack, api_port: int) -> AsyncIterator[Processes]:
    procs = Processes(stack, api_port)
    try:
        procs.start()
        yield procs
    finally:
        procs.stop()


async def open_all(stack: Stack, listings: list[str], concurrency: int) -> dict[str, Any]:
    """Report each listing once (skipping cases the ledger holds from a run before), then wait
    until every case is queued; the rate and intake latency, with progress on stderr."""
    cw, n = stack.cw, len(listings)
    todo = [i for i, s in enumerate(listings)
            if cw.ledger.case(case_id_for(Subject.parse(s), cw.settings.case_prefix)) is None]
    say(f"{n - len(todo)} of {n} cases open from before; opening {len(todo)} "
        f"({concurrency} at a time)")
    intake: list[float] = []
    done, retries = 0, 0
    sem = asyncio.Semaphore(concurrency)

    def retried() -> None:
        nonlocal retries
        retries += 1

    async def one(i: int) -> None:
        """Sent again while Temporal is too busy to answer in time (the same report: opened
        once); the time of the attempt that answered."""
        nonlocal done

        async def attempt() -> None:
            t = time.perf_counter()
            await cw.open_case(listings[i], "user_report", reporter=f"buyer-{i}",
                               report_id=f"open-cases-{i}")
            intake.append(time.perf_counter() - t)

        async with sem:
            await again(attempt, time.monotonic() + GIVE_UP_S, retried)
            done += 1

    started = time.perf_counter()
    work = asyncio.gather(*(one(i) for i in todo))
    last = (started, 0)
    while not work.done():
        await asyncio.wait([work], timeout=15)
        now = time.perf_counter()
        rate, overall = (done - last[1]) / (now - last[0]), done / (now - started)
        eta = (len(todo) - done) / overall if overall else float("inf")
        say(f"opened {done}/{len(todo)}: {rate:.1f}/s now, {overall:.1f}/s overall, "
            f"eta {eta / 60:.0f} min; {retries} sent again")
        last = (now, done)
    await work
    reported_s = time.perf_counter() - started
    # queued, or claimed by a run before on this folder
    while (queued := await asyncio.to_thread(cw.ledger.count, ("queued", "in_review"))) < n:
        say(f"all reported; {queued}/{n} queued")
        await asyncio.sleep(5)
    open_s = time.perf_counter() - started
    return {"opened": len(todo), "intake_retries": retries, "reported_s": round(reported_s, 1),
            "open_s": round(open_s, 1),
            "open_per_s": round(len(todo) / open_s, 2) if todo else None,
            "intake_p50_ms": percentile_ms(intake, 0.5) if intake else None,
            "intake_p99_ms": percentile_ms(intake, 0.99) if intake else None}


async def timed(name: str, calls: int, gap: float, call: Callable[[int], Awaitable[bool]],
                procs: dict[str, int]) -> dict[str, float | int]:
    """p50 and p99 of `calls` calls one at a time, `gap` s apart, each timed whether it claimed
    or not; how many did not (Temporal too busy to answer within casework's bounds); the CPU
    time of `procs` (name: pid) per call."""
    times, failed = [], 0
    before = {who: cpu_s(pid) for who, pid in procs.items()}
    for i in range(calls):
        await asyncio.sleep(gap)
        t = time.perf_counter()
        try:
            failed += not await call(i)
        except Unavailable:
            failed += 1
        times.append(time.perf_counter() - t)
    return {f"{name}_p50_ms": percentile_ms(times, 0.5),
            f"{name}_p99_ms": percentile_ms(times, 0.99), f"{name}_failed": failed,
            **{f"{name}_{who}_cpu_ms": round((cpu_s(pid) - before[who]) / calls * 1000, 1)
               for who, pid in procs.items()}}


async def claims(stack: Stack, procs: Processes, queue: str, api: str, tokens: list[str],
                 n: int, gap: float) -> dict[str, float | int]:
    cw = stack.cw
    assert procs.worker is not None and procs.api is not None
    pids = {"worker": procs.worker.pid, "server": stack.server.pid}

    async def in_process(i: int) -> bool:
        return bool(await cw.claim_next(queue, f"reviewer-{i % len(tokens)}"))

    figures = await timed("claim_next_client", n, gap, in_process, pids)
    async with httpx.AsyncClient(base_url=api, timeout=30) as http:

        async def over_http(i: int) -> bool:
            r = await http.post(f"/api/queues/{queue}/claim-next", json={},
                                headers={"Authorization": f"Bearer {tokens[i % len(tokens)]}"})
            return r.status_code == 200

        return figures | await timed("claim_next_http", n, gap, over_http,
                                     {**pids, "api": procs.api.pid})


async def console(api: str, port: int, people: list[str], cases: list[str], rounds: int,
                  think: float) -> dict[str, float | int]:
    queue_s: list[float] = []
    case_s: list[float] = []
    failed: list[str] = []
    rng = random.Random(7)

    def pages(i: int) -> list[tuple[str, list[float]]]:
        return [("/", queue_s), (f"/cases/{rng.choice(cases)}", case_s)]

    await asyncio.gather(*(console_session(api, port, who, f"{who}-password", rounds, think,
                                           pages, failed) for who in people))
    return {"queue_page_p50_ms": percentile_ms(queue_s, 0.5),
            "queue_page_p95_ms": percentile_ms(queue_s, 0.95),
            "case_page_p50_ms": percentile_ms(case_s, 0.5),
            "case_page_p95_ms": percentile_ms(case_s, 0.95), "pages_failed": len(failed)}


def ops_views(stack: Stack, api: str, token: str) -> dict[str, float]:
    env = stack.cli_env(api, token)
    stuck = [timed_cli(env, "ops", "stuck") for _ in range(3)]
    backlog = [timed_cli(env, "ops", "backlog") for _ in range(3)]
    return {"ops_stuck_cli_s": round(statistics.median(stuck), 2),
            "ops_stuck_cli_max_s": round(max(stuck), 2),
            "ops_backlog_cli_s": round(statistics.median(backlog), 2)}


def disk(data: Path, n: int) -> dict[str, float]:
    def size(name: str) -> int:
        return sum(f.stat().st_size for f in data.glob(f"{name}*") if f.is_file())

    temporal, ledger = size("temporal.db"), size("ledger.db")
    return {"temporal_db_mb": round(temporal / 2**20, 1), "ledger_db_mb": round(ledger / 2**20, 1),
            "disk_per_case_kb": round((temporal + ledger) / n / 1024, 2)}


async def restart(stack: Stack, procs: Processes, queue: str, token: str) -> dict[str, float]:
    """Stop the API, the worker and the server; start them again on the same files; the time
    from the start to the first claim-next that answers a case."""
    procs.stop()
    stack.stop_server()
    started = time.perf_counter()
    stack.start_server()
    server_s = time.perf_counter() - started
    procs.start()
    api_s = time.perf_counter() - started
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{procs.api_port}",
                                 timeout=30) as http:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                r = await http.post(f"/api/queues/{queue}/claim-next", json={},
                                    headers={"Authorization": f"Bearer {token}"})
                if r.status_code == 200:
                    break
            if time.perf_counter() - started > 600:
                raise RuntimeError("no claim within 10 min of a restart")
            await asyncio.sleep(0.1)
    return {"restart_server_s": round(server_s, 1), "restart_api_s": round(api_s, 1),
            "restart_to_claim_s": round(time.perf_counter() - started, 1)}


def memory(procs: Processes, stack: Stack) -> dict[str, float]:
    assert procs.worker is not None
    return {"worker_rss_mb": rss_mb(procs.worker.pid),
            "worker_peak_rss_mb": peak_rss_mb(procs.worker.pid),
            "server_rss_mb": rss_mb(stack.server.pid),
            "server_peak_rss_mb": peak_rss_mb(stack.server.pid)}


def people(stack: Stack, sessions: int) -> tuple[list[str], list[str], str]:
    """`sessions` reviewers of every queue with passwords and tokens, and an operator's token."""
    ledger, creds = stack.cw.ledger, Credentials(stack.cw.ledger)
    add_reviewers(ledger, sessions)
    ledger.put_person(Person(id=OPS, name="Ops 0", roles=[Role.OPS]))
    who = [f"reviewer-{i}" for i in range(sessions)]
    for person in who:
        creds.set_password(person, f"{person}-password")
    return who, [creds.create_token(p)[1] for p in who], creds.create_token(OPS)[1]


async def bench(args: argparse.Namespace, data: Path) -> dict[str, Any]:
    if args.max_cached:
        os.environ["CASEWORK_MAX_CACHED_WORKFLOWS"] = str(args.max_cached)
    async with dev_stack(data) as stack:
        listings = load_listings(SandboxMarketplace(stack.settings.sandbox_db), args.n, PREFIX)
        who, tokens, ops_token = people(stack, args.sessions)
        api_port = free_port()
        api = f"http://127.0.0.1:{api_port}"
        async with running(stack, api_port) as procs:
            figures: dict[str, Any] = await open_all(stack, listings, args.concurrency)
            queue = stack.cw.ledger.queue(states=("queued",), limit=1)[0].queue
            cases = [case_id_for(Subject.parse(s), stack.settings.case_prefix)
                     for s in listings]
            figures["worker_rss_after_open_mb"] = rss_mb(procs.worker.pid)  # type: ignore[union-attr]
            say(f"{len(cases)} open, queue {queue!r}")
            gc.freeze()  # this process as the API's: its start-up out of the collector's walk
            phases: list[tuple[str, Callable[[], Awaitable[dict[str, Any]]]]] = [
                ("claim-next", lambda: claims(stack, procs, queue, api, tokens, min(
                    args.claims, args.n // 4), args.claim_gap)),  # half the cases stay queued
                ("console", lambda: console(api, api_port, who, cases, args.rounds,
                                            args.think)),
                ("ops", lambda: asyncio.to_thread(ops_views, stack, api, ops_token)),
                ("memory", lambda: asyncio.to_thread(memory, procs, stack)),
                ("disk", lambda: asyncio.to_thread(disk, data, args.n)),
                ("restart", lambda: restart(stack, procs, queue, tokens[0]))]
            for name, phase in phases:  # one that fails is said, and the others still run
                load = os.getloadavg()[0]
                figures.setdefault("load_avg", {})[name] = round(load, 1)
                say(f"{name} (load average {load:.1f})")
                try:
                    figures |= await phase()
                except Exception as e:  # noqa: BLE001 - a figure missing, not the run lost
                    figures[f"{name}_error"] = f"{type(e).__name__}: {e}"
                    say(f"{name} failed: {type(e).__name__}: {e}")
    return figures


def verdict(figures: dict[str, Any], baseline: Path | None) -> dict[str, Any]:
    """Each target met or not (None: its figure is missing)."""
    def at_most(limit: float, *names: str) -> bool | None:
        found = [figures[n] for n in names if n in figures]
        return max(found) <= limit if len(found) == len(names) else None

    if baseline is not None and "worker_rss_mb" in figures:
        base = json.loads(baseline.read_text())
        figures |= {"baseline_n": base["n"], "baseline_worker_rss_mb": base["worker_rss_mb"],
                    "worker_rss_vs_baseline": round(
                        figures["worker_rss_mb"] / base["worker_rss_mb"], 2)}
    return figures | {"targets_met": {
        "claim_next_client_p99_ms<=100": at_most(100, "claim_next_client_p99_ms"),
        "console_p95_ms<=200": at_most(200, "queue_page_p95_ms", "case_page_p95_ms"),
        "ops_stuck_cli_s<=3": at_most(3, "ops_stuck_cli_s"),
        "worker_rss_vs_baseline<=1.2": at_most(1.2, "worker_rss_vs_baseline")}}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--claim-gap", type=float, default=0.5,
                        help="seconds between one claim and the next")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--max-cached", type=int, default=0,
                        help="the worker's max_cached_workflows (0: its default)")
    parser.add_argument("--baseline", type=Path, help="this bench's JSON at a smaller N")
    parser.add_argument("--data", type=Path, help="keep the stack's files in this folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.data:
        args.data.mkdir(parents=True, exist_ok=True)
        figures = await bench(args, args.data.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
            figures = await bench(args, Path(tmp))
    figures = {"n": args.n, "concurrency": args.concurrency, "claims": args.claims,
               "claim_gap_s": args.claim_gap, "sessions": args.sessions, "think_s": args.think,
               "max_cached_workflows": os.environ.get("CASEWORK_MAX_CACHED_WORKFLOWS",
                                                      "worker default"),
               **figures, "bench_s": round(time.perf_counter() - started, 1)}
    report(verdict(figures, args.baseline), args.json)
    # Leave once reported, as the CLI does: a Temporal call cut off by the stack's stop can
    # keep asyncio's shutdown waiting.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    asyncio.run(main())

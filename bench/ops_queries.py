"""How fast ops' queries answer with N open cases on a dev server.

    python bench/ops_queries.py [--n 10000] [--json]

One dev server (SQLite file, WAL) on a folder of its own holds N open review workflows
(started with their intake search attributes; no worker runs, so they stay open and nothing
moves) and the ledger N queue rows like a working day's: most queued, some claimed with their
lease lapsed, some breached and unowned, some parked in `needs_attention`, and 100 in a working
state that stopped writing (the records `ops stuck` describes one by one, at most 50). Prints the
median of 5 calls of `Ops.stuck()` and `Ops.backlog()`, and the `casework ops stuck --json` and
`casework ops backlog --json` commands end to end (a new process each: what an operator waits).
Targets: stuck under 2 s, backlog under 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import dev_stack, report, timed_cli  # noqa: E402
from temporalio.client import Client  # noqa: E402

from activities.intake import WORKFLOW  # noqa: E402
from client.ops import Ops  # noqa: E402
from config import search_attributes  # noqa: E402
from config.settings import Settings  # noqa: E402
from domain.core import Priority, Report, Source, Subject  # noqa: E402
from domain.record import LedgerRecord  # noqa: E402
from domain.review.models import CaseInput  # noqa: E402

QUEUES = ["ip", "fraud", "dangerous_goods", "regulated_goods", "general"]


def _record(i: int, now: datetime) -> LedgerRecord:
    """Case i as the ledger would hold it: one in 10 claimed (lease lapsed), one in 20 breached,
    one in 100 parked, the last 100 screening for an hour."""
    state, assignee, lease, breached = "queued", None, None, i % 20 == 0
    if i % 10 == 1:
        state, assignee, lease = "in_review", f"reviewer-{i % 7}", now - timedelta(hours=1)
    if i % 100 == 2:
        state = "needs_attention"
    return LedgerRecord(
        case_id=f"ops-bench-{i:05d}", case_uid=f"uid-{i:05d}",
        subject=Subject.parse(f"listing:OPS-{i:05d}"), state=state, queue=QUEUES[i % 5],
        priority=Priority.P2, assignee=assignee, lease_expires_at=lease,
        sla_deadline=now - timedelta(hours=1) if breached else now + timedelta(hours=20),
        sla_breached=breached, revision=1, policy_ids=["counterfeit"],
        opened_at=now - timedelta(hours=i % 48), timeline=[])


async def _start(client: Client, settings: Settings, n: int) -> None:
    now = datetime.now(UTC)
    sem = asyncio.Semaphore(64)

    async def one(i: int) -> None:
        subject = Subject.parse(f"listing:OPS-{i:05d}")
        report_ = Report(report_id=f"r-{i}", source=Source.USER_REPORT, received_at=now)
        async with sem:
            await client.start_workflow(
                WORKFLOW, CaseInput(subject=subject, report=report_), id=f"ops-bench-{i:05d}",
                task_queue=settings.task_queue,
                search_attributes=search_attributes.at_intake(f"ops-bench-{i:05d}", subject))

    await asyncio.gather(*(one(i) for i in range(n)))


async def _median(call: object, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = call()  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            await result
        times.append(time.perf_counter() - t)
    return round(statistics.median(times), 3)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
        async with dev_stack(Path(tmp)) as stack:
            client, settings, cw, env = stack.client, stack.settings, stack.cw, stack.env
            t = time.perf_counter()
            await _start(client, settings, args.n)
            started_s = round(time.perf_counter() - t, 1)
            now = datetime.now(UTC)
            for i in range(args.n):
                cw.ledger.record_case(_record(i, now))
            idle = [f"ops-bench-{i:05d}" for i in range(args.n - 100, args.n)]
            hour_ago = (now - timedelta(hours=1)).isoformat()
            for case_id in idle:
                cw.ledger._write(  # noqa: SLF001 - a bench ages rows the way time would
                    "UPDATE cases SET state = 'screening', updated_at = ?, state_since = ? "
                    "WHERE case_id = ?", (hour_ago, hour_ago, case_id))
            ops = Ops(cw)
            rows = await ops.stuck()
            figures = {
                "open_cases": args.n, "started_s": started_s, "stuck_rows": len(rows),
                "stuck_s": await _median(ops.stuck), "backlog_s": await _median(ops.backlog),
                "stuck_cli_s": round(timed_cli(env, "ops", "stuck"), 3),
                "backlog_cli_s": round(timed_cli(env, "ops", "backlog"), 3),
            }
    figures["stuck_ok"] = figures["stuck_cli_s"] < 2
    figures["backlog_ok"] = figures["backlog_cli_s"] < 3
    report(figures, args.json)


if __name__ == "__main__":
    asyncio.run(main())

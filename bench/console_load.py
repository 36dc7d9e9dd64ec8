"""The console and the API under load: p95 of the queue page, the case page (with the
seller's history) and search with 20 concurrent signed-in sessions, and a decision's round trip
through the API beside the client's.

    python bench/console_load.py [--open 10000] [--decided 100000] [--cases 200]
                                 [--sessions 20] [--think 1.0] [--json]

One dev server (SQLite file, WAL), a `casework worker` and a `casework api` process, as in a
deployment; the sessions run in this process. The ledger holds `--open` open queue rows (the
scale the queue page reads from) besides `--cases` real cases screened by the worker (the case
page asks their workflows), and `--decided` decided rows of the same sellers (the history a
case page shows, what search reads). Each session signs in with its own password, then loads
its queue page, a case page and a search (a title word, a seller, a subject) in turn, reading
each page `--think` seconds on average before the next (0: as fast as the server answers, a
stress figure: on one API process the p95 is then the queue of 20 requests in flight).
Decisions: half the claimed cases decided through `POST /api/cases/{id}/decision`, half through
`CaseworkClient.decide`, alternating. Targets: queue and case page p95 under 200 ms, search p95
under 300 ms.
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
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from harness import (  # noqa: E402
    console_session,
    dev_stack,
    free_port,
    load_listings,
    percentile_ms,
    report,
)

from client.credentials import Credentials  # noqa: E402
from domain.core import Priority, Subject  # noqa: E402
from domain.people import ALL_QUEUES, Person, Role  # noqa: E402
from domain.record import LedgerRecord  # noqa: E402
from marketplace import demo  # noqa: E402
from marketplace.sandbox import SandboxMarketplace  # noqa: E402
from stack import devserver  # noqa: E402

SEARCHES = ["belt", "U-03", "dupe no. 17", "listing:LOAD-00005", "S-02"]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--decided", type=int, default=100_000)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds a session reads a page before the next (0: none)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
        async with dev_stack(Path(tmp)) as stack:
            cw, api_port = stack.cw, free_port()
            creds = Credentials(cw.ledger)
            people = [f"reviewer-{i}" for i in range(args.sessions)]
            for who in people:
                cw.ledger.put_person(Person(id=who, name=who.title(), roles=[Role.REVIEWER],
                                            queues=[ALL_QUEUES]))
                creds.set_password(who, f"{who}-password")
            now = datetime.now(UTC)
            sellers, shops, _ = demo.generate()
            for i in range(args.open + args.decided):  # the scale pages and search read
                shop = shops[i % len(shops)]
                title = f"Bulk item {i} " + ["belt", "mug", "bag", "perfume"][i % 4]
                cw.ledger.record_case(LedgerRecord(
                    case_id=f"bulk-{i:06d}", case_uid=f"bulk-uid-{i:06d}",
                    subject=Subject.parse(f"listing:BULK-{i:06d}"),
                    state="queued" if i < args.open else "closed",
                    queue=["ip", "fraud", "general"][i % 3], priority=Priority.P2,
                    sla_deadline=now + timedelta(hours=20), revision=1, policy_ids=[],
                    opened_at=now - timedelta(minutes=i % 600), timeline=[],
                    seller_id=shop["seller_id"], shop_id=shop["id"], title=title,
                    search_text=f"{title} reported as a replica".lower()))
            lines = load_listings(SandboxMarketplace(stack.settings.sandbox_db), args.cases,
                                  "LOAD")
            procs = [stack.casework("worker"), stack.casework("api", "--port", str(api_port))]
            try:
                devserver.wait_for_port(api_port)
                refs = [await cw.open_case(s, "user_report", reporter="buyer") for s in lines]
                cases = [r.case_id for r in refs]
                for case_id in cases:
                    while (await cw.show(case_id)).state != "queued":
                        await asyncio.sleep(0.2)
                base = f"http://127.0.0.1:{api_port}"
                queue_ms: list[float] = []
                case_ms: list[float] = []
                search_ms: list[float] = []
                started = time.perf_counter()

                def pages(i: int) -> list[tuple[str, list[float]]]:
                    return [("/", queue_ms), (f"/cases/{cases[i % len(cases)]}", case_ms),
                            (f"/search?q={quote(SEARCHES[i % len(SEARCHES)])}", search_ms)]

                await asyncio.gather(*(console_session(base, api_port, who, f"{who}-password",
                                                       args.rounds, args.think, pages)
                                       for who in people))
                elapsed = time.perf_counter() - started
                token = creds.create_token("reviewer-0")[1]
                api_ms, client_ms = [], []
                async with httpx.AsyncClient(base_url=base, timeout=30, headers={
                        "Authorization": f"Bearer {token}"}) as http:
                    for i, case_id in enumerate(cases[:40]):
                        await cw.claim(case_id, "reviewer-0")
                        t = time.perf_counter()
                        if i % 2 == 0:
                            r = await http.post(f"/api/cases/{case_id}/decision", json={
                                "policy_ids": ["counterfeit"], "actions": ["remove"],
                                "reason": "bench"})
                            assert r.status_code == 200, r.text
                            api_ms.append(time.perf_counter() - t)
                        else:
                            await cw.decide(case_id, "reviewer-0", ["counterfeit"],
                                            ["remove"], "bench")
                            client_ms.append(time.perf_counter() - t)
            finally:
                for proc in procs:
                    proc.terminate()
                    proc.wait(timeout=30)
    figures = {
        "open_rows": args.open + args.cases, "decided_rows": args.decided,
        "sessions": args.sessions, "think_s": args.think,
        "pages_per_s": round(3 * args.sessions * args.rounds / elapsed, 1),  # think included
        "queue_page_p50_ms": percentile_ms(queue_ms, 0.5),
        "queue_page_p95_ms": percentile_ms(queue_ms, 0.95),
        "case_page_p50_ms": percentile_ms(case_ms, 0.5),
        "case_page_p95_ms": percentile_ms(case_ms, 0.95),
        "search_p50_ms": percentile_ms(search_ms, 0.5),
        "search_p95_ms": percentile_ms(search_ms, 0.95),
        "decide_api_p50_ms": round(statistics.median(api_ms) * 1000, 1),
        "decide_client_p50_ms": round(statistics.median(client_ms) * 1000, 1),
    }
    figures["target_met"] = (max(figures["queue_page_p95_ms"], figures["case_page_p95_ms"]) < 200
                             and figures["search_p95_ms"] < 300)
    report(figures, args.json)


if __name__ == "__main__":
    asyncio.run(main())

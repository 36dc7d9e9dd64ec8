"""Reports over many decisions: `casework report` end to end through the CLI process and the
API, and the lead's dashboard p95 with 20 signed-in sessions.

    python bench/quality_reports.py [--decisions 100000] [--reviewers 20] [--sessions 20]
                                    [--rounds 20] [--think 1.0] [--json]

The ledger holds `--decisions` decisions of the last 27 days by `--reviewers` reviewers (one in
ten automated), a QA verdict on one in ten, an appeal on one in fifty, written as the workflows
write them. A `casework api` process serves them. CLI: `casework report quality|productivity
--json` as a lead, each over its own period (no answer kept from a run before: `cold`), then
the same query again within 30 s (`kept`), and a reviewer's own. Dashboard: `--sessions`
signed-in people (one in five a lead, the others reviewers seeing their own row) load
`/dashboard`, reading it `--think` seconds on average before the next. Targets: a report
within 2 s end to end; the dashboard within 500 ms p95.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import (  # noqa: E402
    console_session,
    dev_stack,
    free_port,
    percentile_ms,
    report,
    timed_cli,
)

from client.credentials import Credentials  # noqa: E402
from domain.core import Action  # noqa: E402
from domain.outcomes import NONE, AppealOutcome, DecisionOutcome, Outcome, QaOutcome  # noqa: E402
from domain.people import ALL_QUEUES, Person, Role  # noqa: E402
from ledger.store import Ledger  # noqa: E402
from stack import devserver  # noqa: E402

POLICIES = {"ip": "counterfeit", "fraud": "price-scam", "general": "recalled-products",
            "dangerous_goods": "weapons", "adult": "adult-content"}


def seed(ledger: Ledger, n: int, reviewers: int, now: datetime) -> None:
    rng = random.Random(7)
    queues = list(POLICIES)
    rows: list[tuple[str, str, Outcome]] = []
    for i in range(n):
        uid, queue, automated = f"b-{i}", queues[i % len(queues)], i % 10 == 0
        at = now - timedelta(seconds=rng.uniform(60, 27 * 86400))
        label, actions = ((NONE, [Action.NO_ACTION]) if rng.random() < 0.3
                          else (POLICIES[queue], [Action.REMOVE]))
        rows.append((uid, f"case-listing-{uid}", DecisionOutcome(
            queue=queue, decider="policy-engine" if automated else f"reviewer-{i % reviewers}",
            automated=automated, label=label, actions=actions,
            claimed_at=None if automated else at - timedelta(
                seconds=rng.expovariate(1 / 180) + 10),
            decided_at=at, breached=rng.random() < 0.05)))
        if i % 10 == 3:
            agreed = rng.random() < 0.9
            rows.append((f"q-{uid}", f"qa-{uid}", QaOutcome(
                review_case_uid=uid, checker="quinn", label=label if agreed else NONE,
                actions=actions, same_actions=agreed, same_policy=agreed,
                checked_at=at + timedelta(hours=1), final_label=label, final_actions=actions,
                final_agrees=True, closed_at=at + timedelta(hours=2))))
        elif i % 50 == 7:
            rows.append((f"a-{uid}", f"appeal-{uid}", AppealOutcome(
                review_case_uid=uid, outcome="upheld", label=label,
                decided_at=at + timedelta(hours=5))))
        if len(rows) >= 5000:
            ledger.put_outcomes(rows)
            rows = []
    ledger.put_outcomes(rows)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--think", type=float, default=1.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
        async with dev_stack(Path(tmp)) as stack:
            ledger, creds = stack.cw.ledger, Credentials(stack.cw.ledger)
            started = time.perf_counter()
            seed(ledger, args.decisions, args.reviewers, now)
            seeded_s = time.perf_counter() - started
            people = [f"lead-{i}" if i % 5 == 0 else f"reviewer-{i}"
                      for i in range(args.sessions)]
            for who in {*people, *(f"reviewer-{i}" for i in range(args.reviewers))}:
                lead = who.startswith("lead")
                ledger.put_person(Person(id=who, name=who.title(), queues=[ALL_QUEUES],
                                         roles=[Role.LEAD] if lead else [Role.REVIEWER]))
                creds.set_password(who, f"{who}-password")
            port = free_port()
            api = stack.casework("api", "--port", str(port))
            try:
                devserver.wait_for_port(port)
                base = f"http://127.0.0.1:{port}"
                lead = stack.cli_env(base, creds.create_token("lead-0")[1])
                own = stack.cli_env(base, creds.create_token("reviewer-1")[1])
                await asyncio.sleep(3)  # the API imports the statistics libraries at start
                since = (now - timedelta(days=28)).strftime("%Y-%m-%d")
                cold: dict[str, list[float]] = {"quality": [], "productivity": []}
                for i in range(5):
                    until = (now + timedelta(minutes=i + 1)).isoformat()
                    for kind in cold:
                        cold[kind].append(timed_cli(lead, "report", kind, "--since", since,
                                              "--until", until))
                kept = [timed_cli(lead, "report", "quality", "--since", since, "--until",
                            (now + timedelta(minutes=1)).isoformat()) for _ in range(3)]
                mine = [timed_cli(own, "report", "quality") for _ in range(3)]
                dashboard: list[float] = []
                await asyncio.gather(*(console_session(
                    base, port, who, f"{who}-password", args.rounds, args.think,
                    lambda _: [("/dashboard", dashboard)]) for who in people))
            finally:
                api.terminate()
                api.wait(timeout=30)
    figures = {
        "decisions": args.decisions, "seeded_s": round(seeded_s, 1),
        "cli_quality_cold_s": round(statistics.median(cold["quality"]), 2),
        "cli_quality_cold_max_s": round(max(cold["quality"]), 2),
        "cli_productivity_cold_s": round(statistics.median(cold["productivity"]), 2),
        "cli_kept_s": round(statistics.median(kept), 2),
        "cli_own_figures_s": round(statistics.median(mine), 2),
        "sessions": args.sessions, "think_s": args.think,
        "dashboard_p50_ms": percentile_ms(dashboard, 0.5),
        "dashboard_p95_ms": percentile_ms(dashboard, 0.95),
    }
    figures["target_met"] = (max(cold["quality"] + cold["productivity"]) < 2
                             and figures["dashboard_p95_ms"] < 500)
    report(figures, args.json)


if __name__ == "__main__":
    asyncio.run(main())

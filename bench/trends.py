"""A trend scan over many reports: the window's and the baseline weeks' counts from the ledger,
the clusters, the tests and the findings, timed in process (the scan activity's work; opening
an escalation is one Update on top).

    python bench/trends.py [--cases 1000000] [--days 30] [--json]

The ledger holds `--cases` review cases opened over `--days` days (20,000 sellers, one in a
hundred sharing a payout account with a few others, five queues and their policies) and a wave
in the last hour. Target: a scan over 30 days of 1,000,000 within 30 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import report  # noqa: E402

from activities.trends import volumes  # noqa: E402
from domain.trend_models import Signal, TrendsConfig  # noqa: E402
from domain.trends import findings, spikes, windows  # noqa: E402
from ledger.store import Ledger  # noqa: E402

POLICIES = {"ip": "counterfeit", "fraud": "price-scam", "general": "recalled-products",
            "dangerous_goods": "weapons", "adult": "adult-content"}


def seed(ledger: Ledger, n: int, days: int, now: datetime) -> None:
    rng, queues, batch = random.Random(3), list(POLICIES), []
    for i in range(n):
        queue = rng.choice(queues)
        seller = rng.randrange(20_000)
        links = [f"payout:p{seller // 4}"] if seller % 100 == 0 else []
        batch.append((f"b-{i}", f"case-listing-b-{i}", Signal(
            opened_at=now - timedelta(seconds=rng.uniform(3600, days * 86400)), queue=queue,
            policy=POLICIES[queue], category=f"cat-{rng.randrange(30)}",
            seller_id=f"U-{seller}", shop_id=f"S-{seller}", seller_links=links)))
        if len(batch) == 20_000:
            ledger.put_signals(batch)
            batch = []
    batch += [(f"w-{i}", f"case-listing-w-{i}", Signal(
        opened_at=now - timedelta(minutes=rng.uniform(1, 59)), queue="ip", policy="counterfeit",
        category="fashion", seller_id=f"U-W{i % 5}", seller_links=["payout:wave"]))
        for i in range(50)]
    ledger.put_signals(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
        ledger = Ledger(f"sqlite:///{tmp}/ledger.db")
        started = time.perf_counter()
        seed(ledger, args.cases, args.days, now)
        seeded_s = time.perf_counter() - started
        cfg, timings, found = TrendsConfig(), [], []
        for _ in range(3):
            started = time.perf_counter()
            rows = ledger.windows(windows(now, timedelta(minutes=cfg.window_minutes),
                                          cfg.baseline_weeks))
            sellers = sorted({r[3] for span in rows for r in span if r[3]})
            tested = volumes(rows, ledger.links(sellers))
            found = findings(spikes(tested, cfg))
            timings.append(time.perf_counter() - started)
    figures = {"cases": args.cases, "days": args.days, "seeded_s": round(seeded_s, 1),
               "scan_s": round(min(timings), 3), "scan_max_s": round(max(timings), 3),
               "volumes_tested": len(tested), "findings": [f.lead.key for f in found]}
    figures["target_met"] = max(timings) < 30
    report(figures, args.json)


if __name__ == "__main__":
    main()

"""What the benchmarks share: their listings in the sandbox, free ports, peak memory and how
they print figures."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from domain.people import ALL_QUEUES, Person, Role
from ledger.store import Ledger
from marketplace import demo
from marketplace.sandbox import SandboxMarketplace


def load_listings(sandbox: SandboxMarketplace, n: int, prefix: str) -> list[str]:
    """The demo's sellers and shops with `n` listings of their own, each a rule hit below the
    auto-enforce threshold: every case is screened, queued, claimed and decided by a person."""
    sellers, shops, _ = demo.generate()
    rows = [{"id": f"{prefix}-{i:05d}", "shop_id": shops[i % len(shops)]["id"],
             "title": f"Gucci belt dupe no. {i}", "description": "unbranded dupe",
             "category": "fashion", "price": 25.0, "status": "active", "flags": [],
             "image_hashes": [], "created_on": "2026-06-01"} for i in range(n)]
    sandbox.load(sellers, shops, rows)
    return [f"listing:{row['id']}" for row in rows]


def add_reviewers(ledger: Ledger, n: int) -> None:
    """`reviewer-0` … `reviewer-<n-1>` in the directory, reviewers of every queue."""
    for i in range(n):
        ledger.put_person(Person(id=f"reviewer-{i}", name=f"Reviewer {i}", roles=[Role.REVIEWER],
                                 queues=[ALL_QUEUES]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """A live process's resident high-water mark (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmHWM for pid {pid}")


def report(result: dict[str, Any], as_json: bool) -> None:
    """One JSON object on stdout, or a table."""
    if as_json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>20}: {v}")

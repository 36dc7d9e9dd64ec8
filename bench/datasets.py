"""A validation set over many decisions: `casework dataset export` end to end through the CLI
process and the API, its wall time and the peak memory of both processes.

    python bench/datasets.py [--decisions 100000] [--json]

The ledger holds `--decisions` settled decisions (the listing as screened, 2,000 sellers, a
photo reused now and then), a QA check on one in ten and an appeal on one in fifty, written as
the workflows write them. Target: an export of 100,000 decisions within 60 s and 1 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import dev_stack, free_port, report  # noqa: E402

from client.credentials import Credentials  # noqa: E402
from domain.core import Action, SubjectFacts, SubjectKind  # noqa: E402
from domain.outcomes import NONE, AppealOutcome, DecisionOutcome, Outcome, QaOutcome, Seen  # noqa: E402
from domain.people import ALL_QUEUES, Person, Role  # noqa: E402
from ledger.store import Ledger  # noqa: E402
from stack import devserver  # noqa: E402

CASEWORK = str(Path(sys.executable).parent / "casework")
POLICIES = ("counterfeit", "price-scam", "weapons")


def seed(ledger: Ledger, n: int, now: datetime) -> None:
    rng = random.Random(7)
    rows: list[tuple[str, str, Outcome]] = []
    for i in range(n):
        uid, policy = f"b-{i}", POLICIES[i % len(POLICIES)]
        at = now - timedelta(seconds=rng.uniform(2 * 86400, 60 * 86400))
        label = NONE if rng.random() < 0.3 else policy
        facts = SubjectFacts(kind=SubjectKind.LISTING, id=uid, title=f"{policy} listing {i}",
                             description="a listing described in a sentence or two " * 3,
                             category="fashion", price=round(rng.uniform(5, 500), 2),
                             image_hashes=[f"p-{rng.randrange(n) if rng.random() < 0.05 else i}"],
                             seller_id=f"U-{rng.randrange(2000)}", created_on=at.date())
        rows.append((uid, f"case-listing-{uid}", DecisionOutcome(
            queue="ip", decider="reviewer-1", automated=False, label=label,
            actions=[Action.NO_ACTION] if label == NONE else [Action.REMOVE], decided_at=at,
            breached=False, seen=Seen(subject_kind=SubjectKind.LISTING, subject_id=uid,
                                      facts=facts, considered=[policy], pack_version="v1"))))
        if i % 10 == 3:
            rows.append((f"q-{uid}", f"qa-{uid}", QaOutcome(
                review_case_uid=uid, checker="quinn", label=label, same_actions=True,
                same_policy=True, checked_at=at + timedelta(hours=1), final_label=label,
                closed_at=at + timedelta(hours=2))))
        elif i % 50 == 7:
            rows.append((f"a-{uid}", f"appeal-{uid}", AppealOutcome(
                review_case_uid=uid, outcome="overturned", label=NONE,
                decided_at=at + timedelta(hours=5))))
        if len(rows) >= 5000:
            ledger.put_outcomes(rows)
            rows = []
    ledger.put_outcomes(rows)


def peak_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="casework-bench-") as tmp:
        async with dev_stack(Path(tmp)) as stack:
            ledger, creds = stack.cw.ledger, Credentials(stack.cw.ledger)
            started = time.perf_counter()
            seed(ledger, args.decisions, now)
            seeded_s = time.perf_counter() - started
            ledger.put_person(Person(id="lead-0", name="Lead", queues=[ALL_QUEUES],
                                     roles=[Role.LEAD]))
            port = free_port()
            api = stack.casework("api", "--port", str(port))
            try:
                devserver.wait_for_port(port)
                env = {**stack.env, "CASEWORK_API_URL": f"http://127.0.0.1:{port}",
                       "CASEWORK_CONFIG_DIR": str(Path(tmp) / "cli"),
                       "CASEWORK_TOKEN": creds.create_token("lead-0")[1]}
                out = Path(tmp) / "set"
                started = time.perf_counter()
                proc = subprocess.run(
                    [CASEWORK, "dataset", "export", "--policy", *POLICIES, "--seed", "1",
                     "--out", str(out), "--json"], env=env, capture_output=True, text=True,
                    timeout=600)
                export_s = time.perf_counter() - started
                assert proc.returncode == 0, proc.stderr
                cli_mib = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
                api_mib = peak_mib(api.pid)
            finally:
                api.terminate()
                api.wait(timeout=30)
            rows = sum(1 for _ in (out / "rows.jsonl").open())
            size = sum(f.stat().st_size for f in out.iterdir())
    figures = {"decisions": args.decisions, "seeded_s": round(seeded_s, 1), "rows": rows,
               "cli_export_s": round(export_s, 1), "api_peak_mib": api_mib,
               "cli_peak_mib": cli_mib, "files_mib": round(size / 2**20, 1)}
    figures["target_met"] = export_s < 60 and max(api_mib, cli_mib) < 1024
    report(figures, args.json)


if __name__ == "__main__":
    asyncio.run(main())

"""The quality demo on `make run`: a pack with QA checks and calibration turned on (the shipped
pack leaves them off), eight weeks of demo history for the reports and the lead's dashboard
(decisions with the listings as screened, QA verdicts and adjudications, appeals,
calibration answers, written as the workflows write them), and a calibration set mixed into
the reviewers' claims."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path

from config.settings import Settings
from domain.core import Action, SubjectFacts, SubjectKind
from domain.outcomes import (
    NONE,
    AppealOutcome,
    CalibrationOutcome,
    DecisionOutcome,
    Outcome,
    QaOutcome,
    Seen,
)
from domain.trend_models import Signal
from ledger.store import Ledger

# What the demo turns on, appended to the shipped pack (tests append theirs the same way).
PACK_EXTRA = """
# -- the quality demo (stack/quality_demo.py) --
[queues.qa]
lead = "helena@casework.example"
[qa]
rate = 0.2
automated = 0.3
new_reviewer_rate = 0.5
new_reviewer_decisions = 20
drift_rate = 0.5
[calibration]
rate = 0.25
"""
# reviewer -> (queues, decisions a week, seconds a decision, QA agreement, calibration accuracy)
REVIEWERS = {
    "alice": (["ip", "fraud", "general"], 60, 150, 0.93, 0.9),
    "bilal": (["dangerous_goods", "product_safety", "wildlife"], 45, 240, 0.86, 0.8),
    "chen": (["adult", "hate"], 35, 200, 0.95, 1.0),
    "dana": (["ip", "fraud"], 25, 320, 0.97, 1.0),
}
QUEUE_POLICY = {"ip": "counterfeit", "fraud": "price-scam", "general": "recalled-products",
                "dangerous_goods": "weapons", "product_safety": "recalled-products",
                "wildlife": "wildlife", "adult": "adult-content", "hate": "hate-symbols"}
WEEKS = 8
CALIBRATION_SET = "demo-gold"


def pack(settings: Settings, shipped: Path) -> Path:
    """The demo's pack: the shipped one and PACK_EXTRA, written to the data folder."""
    path = settings.data_dir / "demo-pack.toml"
    path.write_text(shipped.read_text() + PACK_EXTRA)
    return path


def calibration_file() -> str:
    """Known-answer items for the fraud queue (JSON lines, as a lead loads them); the README's
    walk-through claims in ip, where nothing is mixed in."""
    items = [
        ("gold-console", "Games console, brand new, 30 EUR", 30.0, "price-scam", ["remove"],
         "A new console at a tenth of its price, paid by bank transfer only: a scam."),
        ("gold-phone", "Flagship phone, sealed, 99 EUR, ships from abroad", 99.0, "price-scam",
         ["remove"], "A sealed flagship at a tenth of its price from a new seller: a scam."),
        ("gold-bike", "Used city bike, some rust", 80.0, None, ["no_action"],
         "A used bike at a used bike's price: no violation."),
    ]
    return "\n".join(json.dumps({
        "item_id": item, "queue": "fraud", "report": "Reported from the listing page",
        "subject": {"kind": "listing", "id": f"L-{item.upper()}", "title": title,
                    "description": title, "category": "demo", "price": price,
                    "seller_id": "U-DEMO", "created_on": "2026-11-01"},
        "expected": {"policy_ids": [policy] if policy else [], "actions": actions},
        "explanation": why}) for item, title, price, policy, actions, why in items)


def seen(rng: random.Random, uid: str, policy: str, at: datetime) -> Seen:
    """A demo decision's listing as screened: 40 sellers, a photo now and then reused."""
    seller = f"U-DEMO-{rng.randrange(40)}"
    photo = f"demo-{rng.randrange(400) if rng.random() < 0.2 else uid}"
    return Seen(subject_kind=SubjectKind.LISTING, subject_id=uid, considered=[policy],
                pack_version="demo", facts=SubjectFacts(
                    kind=SubjectKind.LISTING, id=uid, title=f"{policy.replace('-', ' ')} "
                    f"listing {uid[5:]}", description="a demo listing", category="demo",
                    price=round(rng.uniform(5, 500), 2), image_hashes=[photo], seller_id=seller,
                    created_on=(at - timedelta(days=3)).date()))


def seed_history(ledger: Ledger, now: datetime) -> int:
    """Eight weeks of demo outcomes (deterministic), once: how many decisions."""
    rng = random.Random(17)
    listing = random.Random(23)  # the decided listings' own draws (the history's are rng's)
    rows: list[tuple[str, str, Outcome]] = []
    start = now - timedelta(weeks=WEEKS)
    for who, (queues, per_week, seconds, agree, accurate) in REVIEWERS.items():
        for n in range(per_week * WEEKS):
            uid = f"demo-{who}-{n}"
            queue = rng.choice(queues)
            policy = QUEUE_POLICY[queue]
            at = start + timedelta(seconds=rng.uniform(0, WEEKS * 7 * 86400 - 7200))
            clean = rng.random() < 0.3
            label, actions = (NONE, [Action.NO_ACTION]) if clean else (policy, [Action.REMOVE])
            handling = rng.expovariate(1 / seconds) + 20
            rows.append((uid, f"case-listing-{uid}", DecisionOutcome(
                queue=queue, decider=who, automated=False, label=label, actions=actions,
                claimed_at=at - timedelta(seconds=handling), decided_at=at,
                breached=rng.random() < 0.04, seen=seen(listing, uid, policy, at))))
            if rng.random() < 0.2:  # checked
                agreed = rng.random() < agree
                qa_label, qa_actions = ((label, actions) if agreed else
                                        ((policy, [Action.REMOVE]) if clean
                                         else (NONE, [Action.NO_ACTION])))
                final, final_actions = (label, actions) if agreed or rng.random() < 0.5 else (
                    qa_label, qa_actions)
                checked = at + timedelta(hours=rng.uniform(1, 40))
                rows.append((f"qa-{uid}", f"qa-{uid}", QaOutcome(
                    review_case_uid=uid, checker="kai", label=qa_label, actions=qa_actions,
                    same_actions=agreed, same_policy=agreed, checked_at=checked,
                    adjudicator=None if agreed else "emeka", final_label=final,
                    final_actions=final_actions, final_agrees=final == label,
                    closed_at=checked + timedelta(hours=2))))
            elif not clean and rng.random() < 0.04:  # appealed
                overturned = rng.random() < 0.25
                rows.append((f"ap-{uid}", f"ap-{uid}", AppealOutcome(
                    review_case_uid=uid, outcome="overturned" if overturned else "upheld",
                    label=NONE if overturned else label,
                    decided_at=at + timedelta(days=rng.uniform(1, 5)))))
        for week in range(WEEKS):  # a calibration answer a week
            case_id = f"case-listing-demo-gold-{who}-{week}"
            ledger.give_calibration(case_id, CALIBRATION_SET, "gold-console", who, "fraud")
            right = rng.random() < accurate
            rows.append(("", case_id, CalibrationOutcome(
                set_id=CALIBRATION_SET, item_id="gold-console", queue="fraud", reviewer=who,
                label="price-scam" if right else NONE,
                actions=[Action.REMOVE] if right else [Action.NO_ACTION], same_policy=right,
                same_actions=right, decided_at=start + timedelta(weeks=week, days=2))))
    auto_policy = "counterfeit"
    for n in range(WEEKS * 40):  # the policy engine's auto-actions, some checked
        at = start + timedelta(seconds=rng.uniform(0, WEEKS * 7 * 86400 - 7200))
        uid = f"demo-auto-{n}"
        rows.append((uid, f"case-listing-{uid}", DecisionOutcome(
            queue="ip", decider="policy-engine", automated=True, label=auto_policy,
            actions=[Action.REMOVE], decided_at=at, breached=False,
            seen=seen(listing, uid, auto_policy, at))))
        if rng.random() < 0.3:
            right = rng.random() < 0.92
            rows.append((f"qa-{uid}", f"qa-{uid}", QaOutcome(
                review_case_uid=uid, checker="kai", label=auto_policy if right else NONE,
                actions=[Action.REMOVE] if right else [Action.NO_ACTION], same_actions=right,
                same_policy=right, checked_at=at + timedelta(hours=3),
                final_label=auto_policy if right else NONE, final_agrees=right,
                closed_at=at + timedelta(hours=5))))
    ledger.put_outcomes(rows)
    return sum(isinstance(o, DecisionOutcome) for _, _, o in rows)


def seed_trends(ledger: Ledger, now: datetime) -> int:
    """Eight weeks of quiet hourly traffic for the trend scans' baseline (about four cases an
    hour across the queues' policies, each seller on their own), and a wave in the last hour:
    five sellers paid out to one account, 30 counterfeit listings reported. Signals only (no
    cases to open): `casework trends scan` finds the wave on first start."""
    rng = random.Random(29)
    rows: list[tuple[str, str, Signal]] = []
    queues = list(QUEUE_POLICY)
    for hour in range(1, WEEKS * 7 * 24):
        for k in range(rng.randint(2, 6)):
            queue = rng.choice(queues)
            uid = f"demo-trend-{hour}-{k}"
            rows.append((uid, f"case-listing-{uid}", Signal(
                opened_at=now - timedelta(hours=hour, minutes=rng.uniform(0, 60)), queue=queue,
                policy=QUEUE_POLICY[queue], category="demo",
                seller_id=f"U-DEMO-{rng.randrange(400)}")))
    for n in range(30):
        seller = f"U-DEMO-WAVE-{n % 5}"
        uid = f"demo-wave-{n}"
        rows.append((uid, f"case-listing-{uid}", Signal(
            opened_at=now - timedelta(minutes=rng.uniform(1, 50)), queue="ip",
            policy="counterfeit", category="fashion", seller_id=seller,
            seller_links=["payout:demo-wave-account", f"contact:{seller.lower()}"])))
    ledger.put_signals(rows)
    return len(rows)

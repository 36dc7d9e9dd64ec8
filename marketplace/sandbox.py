"""A local marketplace on SQLite: listings, shops and sellers with a status each.

Every action is recorded under its idempotency key in the same transaction that changes the
subject, so a retried action finds its key and does nothing a second time.

Drills: a row in `faults` (set by `casework sandbox fail`, in any process sharing the file) makes
one operation fail on purpose until it is healed or its wall-clock `until` passes. Modes:
`error` fails before doing anything; `timeout` does the work, hangs `fault_hang_s`, then fails
(for an action: it landed, but the caller cannot tell); `garbage` does the work and fails as an
unreadable answer; `refuse` fails finally (the action refused, the subject or contact unknown).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from config.files import owner_only
from domain.core import (
    Action,
    Subject,
    SubjectFacts,
    SubjectKind,
)
from domain.text import IMAGE_HASH
from marketplace.base import (
    ActionRefused,
    ApplyResult,
    ImageFile,
    ListingPage,
    MarketplaceUnavailable,
    SubjectNotFound,
)

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS sellers (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, is_trader INTEGER NOT NULL,
    prior_violations INTEGER NOT NULL, status TEXT NOT NULL, created_on TEXT NOT NULL,
    payout_account TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS shops (
    id TEXT PRIMARY KEY, seller_id TEXT NOT NULL REFERENCES sellers(id), name TEXT NOT NULL,
    description TEXT NOT NULL, status TEXT NOT NULL, created_on TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listings (
    id TEXT PRIMARY KEY, shop_id TEXT NOT NULL REFERENCES shops(id), title TEXT NOT NULL,
    description TEXT NOT NULL, category TEXT NOT NULL, price REAL NOT NULL,
    image_hashes TEXT NOT NULL, status TEXT NOT NULL, flags TEXT NOT NULL DEFAULT '[]',
    created_on TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enforcement (
    idempotency_key TEXT PRIMARY KEY, subject_kind TEXT NOT NULL, subject_id TEXT NOT NULL,
    action TEXT NOT NULL, reason TEXT NOT NULL, applied_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (
    operation TEXT PRIMARY KEY, mode TEXT NOT NULL, until REAL);
"""
OPERATIONS = ("facts", "apply_action", "seller_contact")
FAULT_MODES = ("error", "timeout", "garbage", "refuse")

# What each action does to the subject it lands on: a new status, or a flag added.
_EFFECTS: dict[Action, tuple[str, str]] = {
    Action.REMOVE: ("status", "removed"),
    Action.DISABLE: ("status", "disabled"),
    Action.DEMOTE: ("flag", "demoted"),
    Action.LABEL: ("flag", "labelled"),
    Action.RESTRICT_SALES: ("status", "sales_restricted"),
    Action.SUSPEND_SHOP: ("status", "suspended"),
    Action.SUSPEND_SELLER: ("status", "suspended"),
    Action.TERMINATE_SELLER: ("status", "terminated"),
    Action.WARN: ("flag", "warned"),
}
_TABLES = {SubjectKind.LISTING: "listings", SubjectKind.SHOP: "shops",
           SubjectKind.SELLER: "sellers"}


class SandboxMarketplace:
    """`apply_delay_s` holds an action after it is committed: the window a crash test aims at.
    `fault_hang_s` is how long a drill in `timeout` mode hangs before failing."""

    def __init__(self, path: str | Path, apply_delay_s: float = 0.0,
                 fault_hang_s: float = 2.0) -> None:
        self.path = Path(path)
        self.apply_delay_s = apply_delay_s
        self.fault_hang_s = fault_hang_s
        self.path.parent.mkdir(parents=True, exist_ok=True)
        owner_only(self.path)
        with self._conn() as c:
            c.executescript(SCHEMA)
            with contextlib.suppress(sqlite3.OperationalError):  # a sandbox made before it
                c.execute("ALTER TABLE sellers ADD COLUMN payout_account TEXT NOT NULL "
                          "DEFAULT ''")

    def _conn(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.row_factory = sqlite3.Row
        return conn

    def _row(self, c: sqlite3.Connection, subject: Subject) -> sqlite3.Row:
        row = c.execute(f"SELECT * FROM {_TABLES[subject.kind]} WHERE id = ?",
                        (subject.id,)).fetchone()
        if row is None:
            raise SubjectNotFound(f"the marketplace has no {subject}")
        return row

    def _drill(self, c: sqlite3.Connection, operation: str) -> str | None:
        """The drill mode set for `operation`, if any; `error` and `refuse` fail right here."""
        row = c.execute("SELECT mode FROM faults WHERE operation = ? AND "
                        "(until IS NULL OR until > ?)", (operation, time.time())).fetchone()
        mode = row["mode"] if row else None
        if mode == "error":
            raise MarketplaceUnavailable(f"sandbox drill: {operation} failed before acting")
        if mode == "refuse":
            final = ActionRefused if operation == "apply_action" else SubjectNotFound
            raise final(f"sandbox drill: {operation} refused")
        return mode

    def _answer(self, operation: str, mode: str | None, result: T) -> T:
        """`result` of work already done, unless a drill loses the answer."""
        if mode == "timeout":
            time.sleep(self.fault_hang_s)
            raise MarketplaceUnavailable(
                f"sandbox drill: {operation} did not answer within {self.fault_hang_s}s")
        if mode == "garbage":
            raise MarketplaceUnavailable(f"sandbox drill: {operation} gave an unreadable answer")
        return result

    # -- the Marketplace interface ---------------------------------------------------------------
    def facts(self, subject: Subject) -> SubjectFacts:
        with self._conn() as c:
            mode = self._drill(c, "facts")
            return self._answer("facts", mode, self._facts(c, subject))

    def _facts(self, c: sqlite3.Connection, subject: Subject) -> SubjectFacts:
        row = self._row(c, subject)
        if subject.kind is SubjectKind.LISTING:
            shop = self._row(c, Subject(kind=SubjectKind.SHOP, id=row["shop_id"]))
            seller = self._row(c, Subject(kind=SubjectKind.SELLER, id=shop["seller_id"]))
            return SubjectFacts(
                kind=subject.kind, id=subject.id, title=row["title"],
                description=row["description"], category=row["category"],
                price=row["price"], image_hashes=json.loads(row["image_hashes"]),
                seller_id=seller["id"], shop_id=shop["id"],
                seller_prior_violations=seller["prior_violations"],
                seller_is_trader=bool(seller["is_trader"]),
                created_on=date.fromisoformat(row["created_on"]), status=row["status"],
                seller_links=_links(seller))
        seller_id = row["seller_id"] if subject.kind is SubjectKind.SHOP else row["id"]
        seller = self._row(c, Subject(kind=SubjectKind.SELLER, id=seller_id))
        return SubjectFacts(
            kind=subject.kind, id=subject.id, title=row["name"],
            description=row["description"] if subject.kind is SubjectKind.SHOP else "",
            seller_id=seller_id,
            shop_id=row["id"] if subject.kind is SubjectKind.SHOP else None,
            seller_prior_violations=seller["prior_violations"],
            seller_is_trader=bool(seller["is_trader"]),
            created_on=date.fromisoformat(row["created_on"]), status=row["status"],
            seller_links=_links(seller))

    def resolve(self, subject: Subject, action: Action) -> Subject:
        wanted = action.targets or subject.kind
        if wanted is subject.kind:
            return subject
        facts = self.facts(subject)
        if wanted is SubjectKind.SELLER:
            return Subject(kind=SubjectKind.SELLER, id=facts.seller_id)
        if wanted is SubjectKind.SHOP and facts.shop_id:
            return Subject(kind=SubjectKind.SHOP, id=facts.shop_id)
        raise ActionRefused(f"{action.value} cannot act on {subject}")

    def apply(self, target: Subject, action: Action, idempotency_key: str, reason: str
              ) -> ApplyResult:
        return self._act(target, action, idempotency_key, reason, undo=False)

    def reverse(self, target: Subject, action: Action, idempotency_key: str, reason: str
                ) -> ApplyResult:
        return self._act(target, action, idempotency_key, reason, undo=True)

    def _act(self, target: Subject, action: Action, idempotency_key: str, reason: str,
             undo: bool) -> ApplyResult:
        """Apply an action or undo it (reinstate, lift, unflag), once per idempotency key; the
        row records the action, or its reversal's name."""
        kind, value = _EFFECTS[action]
        if undo and action.reversal is None:
            raise ActionRefused(f"{action.value} has no reversal")
        with self._conn() as c:
            mode = self._drill(c, "apply_action")
            c.execute("BEGIN IMMEDIATE")
            done = c.execute("SELECT applied_at FROM enforcement WHERE idempotency_key = ?",
                             (idempotency_key,)).fetchone()
            if done:
                c.execute("ROLLBACK")
                return self._answer("apply_action", mode, ApplyResult(
                    applied=False, target=target, detail=f"already applied at {done['applied_at']}"))
            row = self._row(c, target)
            table = _TABLES[target.kind]
            if kind == "status":
                c.execute(f"UPDATE {table} SET status = ? WHERE id = ?",
                          ("active" if undo else value, target.id))
            elif target.kind is SubjectKind.LISTING:
                flags = set(json.loads(row["flags"]))
                flags = flags - {value} if undo else flags | {value}
                c.execute("UPDATE listings SET flags = ? WHERE id = ?",
                          (json.dumps(sorted(flags)), target.id))
            if action in (Action.REMOVE, Action.SUSPEND_SHOP, Action.SUSPEND_SELLER,
                          Action.TERMINATE_SELLER, Action.DISABLE):
                self._count_violation(c, target, -1 if undo else 1)
            c.execute(
                "INSERT INTO enforcement (idempotency_key, subject_kind, subject_id, action, "
                "reason, applied_at) VALUES (?, ?, ?, ?, ?, ?)",
                (idempotency_key, target.kind.value, target.id,
                 action.reversal if undo else action.value, reason,
                 datetime.now(UTC).isoformat()))
            c.execute("COMMIT")
        if self.apply_delay_s:
            time.sleep(self.apply_delay_s)
        done = f"{target} {'active again' if undo and kind == 'status' else value}"
        if undo and kind == "flag":
            done = f"{target} no longer {value}"
        return self._answer("apply_action", mode, ApplyResult(applied=True, target=target,
                                                              detail=done))

    def seller_contact(self, seller_id: str) -> str:
        with self._conn() as c:
            mode = self._drill(c, "seller_contact")
            seller = self._row(c, Subject(kind=SubjectKind.SELLER, id=seller_id))
            return self._answer("seller_contact", mode, str(seller["email"]))

    def image(self, image_hash: str) -> ImageFile:
        """The photo, drawn from its hash and the listing that shows it (the `facts` drill
        fails it too)."""
        if not IMAGE_HASH.fullmatch(image_hash):
            raise SubjectNotFound(f"no image {image_hash[:80]!r}: not a hex hash")
        with self._conn() as c:
            mode = self._drill(c, "facts")
            row = c.execute("SELECT title, category FROM listings WHERE image_hashes LIKE ? "
                            "ORDER BY id LIMIT 1", (f'%"{image_hash}"%',)).fetchone()
        if row is None:
            raise SubjectNotFound(f"no listing shows image {image_hash}")
        from marketplace.images import render  # Pillow, loaded by who shows photos

        return self._answer("facts", mode, ImageFile(
            media_type="image/png", data=render(image_hash, row["title"], row["category"])))

    def shop_listings(self, shop_id: str, after: str | None, limit: int) -> ListingPage:
        """Pages of a shop's listings (the `facts` drill fails them too)."""
        with self._conn() as c:
            mode = self._drill(c, "facts")
            self._row(c, Subject(kind=SubjectKind.SHOP, id=shop_id))
            ids = [r[0] for r in c.execute(
                "SELECT id FROM listings WHERE shop_id = ? AND id > ? ORDER BY id LIMIT ?",
                (shop_id, after or "", limit + 1))]
            page = ListingPage(
                listings=[self._facts(c, Subject(kind=SubjectKind.LISTING, id=i))
                          for i in ids[:limit]],
                next_after=ids[limit - 1] if len(ids) > limit else None)
            return self._answer("facts", mode, page)

    # -- drills ----------------------------------------------------------------------------------
    def fail(self, operation: str, mode: str, for_s: float | None = None) -> dict[str, Any]:
        """Make `operation` fail in `mode`, for `for_s` seconds of wall-clock or until healed."""
        _one_of("operation", operation, OPERATIONS)
        _one_of("mode", mode, FAULT_MODES)
        if for_s is not None and for_s <= 0:
            raise ValueError(f"a drill lasts a positive number of seconds, not {for_s}")
        until = None if for_s is None else time.time() + for_s
        with self._conn() as c:
            c.execute("INSERT INTO faults (operation, mode, until) VALUES (?, ?, ?) "
                      "ON CONFLICT (operation) DO UPDATE SET mode = excluded.mode, "
                      "until = excluded.until", (operation, mode, until))
        return _fault(operation, mode, until)

    def heal(self, operation: str | None = None) -> list[dict[str, Any]]:
        """End the drills on `operation` (all when None); returns those that were in force."""
        if operation is not None:
            _one_of("operation", operation, OPERATIONS)
        with self._conn() as c:
            rows = c.execute("DELETE FROM faults WHERE ?1 IS NULL OR operation = ?1 "
                             "RETURNING operation, mode, until", (operation,)).fetchall()
        return [_fault(r["operation"], r["mode"], r["until"]) for r in rows
                if r["until"] is None or r["until"] > time.time()]

    # -- sandbox-only reads for the CLI and tests -----------------------------------------------
    def _count_violation(self, c: sqlite3.Connection, target: Subject, step: int) -> None:
        seller_id = target.id
        if target.kind is SubjectKind.LISTING:
            seller_id = c.execute("SELECT s.seller_id FROM listings l JOIN shops s "
                                  "ON s.id = l.shop_id WHERE l.id = ?", (target.id,)).fetchone()[0]
        elif target.kind is SubjectKind.SHOP:
            seller_id = c.execute("SELECT seller_id FROM shops WHERE id = ?",
                                  (target.id,)).fetchone()[0]
        c.execute("UPDATE sellers SET prior_violations = MAX(prior_violations + ?, 0) "
                  "WHERE id = ?", (step, seller_id))

    def list(self, kind: SubjectKind | None = None, limit: int = 1000,
             shop: str | None = None) -> list[dict[str, Any]]:
        """Subjects in id order; `shop`: only that shop's listings."""
        kinds = [SubjectKind.LISTING] if shop else [kind] if kind else list(SubjectKind)
        where, params = ("WHERE shop_id = ?", [shop]) if shop else ("", [])
        out: list[dict[str, Any]] = []
        with self._conn() as c:
            for k in kinds:
                for row in c.execute(f"SELECT * FROM {_TABLES[k]} {where} ORDER BY id LIMIT ?",
                                     (*params, limit)):
                    out.append(self._describe(c, k, row))
        return out

    def show(self, subject: Subject) -> dict[str, Any]:
        with self._conn() as c:
            return self._describe(c, subject.kind, self._row(c, subject))

    def _describe(self, c: sqlite3.Connection, kind: SubjectKind, row: sqlite3.Row
                  ) -> dict[str, Any]:
        d = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row is not a dict
        d["subject"] = f"{kind.value}:{row['id']}"
        for key in ("image_hashes", "flags"):
            if key in d:
                d[key] = json.loads(d[key])
        d["actions"] = [
            dict(r) for r in c.execute(
                "SELECT action, reason, applied_at, idempotency_key FROM enforcement "
                "WHERE subject_kind = ? AND subject_id = ? ORDER BY applied_at",
                (kind.value, row["id"]))
        ]
        return d

    def enforcement_count(self, target: Subject, action: Action, reversals: bool = False) -> int:
        """How often `action` (or, with `reversals`, its reversal) was applied to `target`."""
        name = action.reversal if reversals else action.value
        with self._conn() as c:
            return int(c.execute(
                "SELECT COUNT(*) FROM enforcement WHERE subject_kind = ? AND subject_id = ? "
                "AND action = ?", (target.kind.value, target.id, name)).fetchone()[0])

    def enforcement_counts(self, action: Action) -> dict[str, int]:
        """How often `action` was applied, by subject (`kind:id`): one read for a bulk job."""
        with self._conn() as c:
            return {f"{k}:{i}": int(n) for k, i, n in c.execute(
                "SELECT subject_kind, subject_id, COUNT(*) FROM enforcement WHERE action = ? "
                "GROUP BY subject_kind, subject_id", (action.value,))}

    def is_empty(self) -> bool:
        with self._conn() as c:
            return c.execute("SELECT COUNT(*) FROM listings").fetchone()[0] == 0

    def load(self, sellers: list[dict[str, Any]], shops: list[dict[str, Any]],
             listings: list[dict[str, Any]]) -> None:
        with self._conn() as c:
            c.execute("BEGIN")
            for table, rows in (("sellers", sellers), ("shops", shops), ("listings", listings)):
                for r in rows:
                    r = {k: json.dumps(v) if isinstance(v, list) else v for k, v in r.items()}
                    cols = ", ".join(r)
                    c.execute(f"INSERT OR IGNORE INTO {table} ({cols}) VALUES "
                              f"({', '.join('?' * len(r))})", tuple(r.values()))
            c.execute("COMMIT")


def _links(seller: sqlite3.Row) -> list[str]:
    """What the seller shares with others, as the marketplace reports it: hashes only."""
    found = [("payout", seller["payout_account"]), ("contact", seller["email"].lower())]
    return [f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:16]}"
            for kind, value in found if value]


def wave(sellers: int, listings: int, words: str, tag: str, today: date
         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """A coordinated cluster (a drill): `sellers` new sellers paid out to one account, a shop
    each, `listings` listings among them showing the same photo and `words`."""
    payout = f"XX{tag.upper()}0000"
    photo = hashlib.sha256(f"wave-{tag}".encode()).hexdigest()[:16]
    people = [{"id": f"U-W{tag}-{i}", "name": f"Wave seller {i}", "email":
               f"wave-{tag}-{i}@example.test", "is_trader": 1, "prior_violations": 0,
               "status": "active", "created_on": today.isoformat(), "payout_account": payout}
              for i in range(sellers)]
    shops = [{"id": f"S-W{tag}-{i}", "seller_id": p["id"], "name": f"Wave shop {i}",
              "description": "new arrivals daily", "status": "active",
              "created_on": today.isoformat()} for i, p in enumerate(people)]
    items = [{"id": f"L-W{tag}-{n}", "shop_id": shops[n % sellers]["id"],
              "title": f"{words} {n}", "description": f"{words}, best price, ships today",
              "category": "fashion", "price": 25.0, "image_hashes": [photo],
              "status": "active", "created_on": today.isoformat()} for n in range(listings)]
    return people, shops, items


def _one_of(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}: expected {'|'.join(allowed)}")


def _fault(operation: str, mode: str, until: float | None) -> dict[str, Any]:
    return {"operation": operation, "mode": mode,
            "until": None if until is None else datetime.fromtimestamp(until, UTC).isoformat()}

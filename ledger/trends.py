"""What trend scans read and keep: a row per review case (written with its ledger row), what
sellers share, and each spike with its escalation. A window's counts are one walk of
`signals_window_idx`, which covers them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from domain.trend_models import Signal
from ledger.engines import Cursor, Store, dt, iso

SIGNAL_COLUMNS = "case_uid, case_id, opened_at, queue, policy, category, seller_id, shop_id"
_PUT_SIGNAL = (
    f"INSERT INTO signals ({SIGNAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
    "(case_uid) DO UPDATE SET opened_at = excluded.opened_at, queue = excluded.queue, policy = "
    "excluded.policy, category = excluded.category, seller_id = excluded.seller_id, shop_id = "
    "excluded.shop_id")
MAX_SHARED = 50  # sellers one link may join; a link more share says nothing of a cluster
Row = tuple[str, str, str, str | None, str | None, str]  # queue, policy, category, seller, shop, case


def put_signal(cur: Cursor, case_uid: str, case_id: str, s: Signal) -> None:
    cur.execute(_PUT_SIGNAL, (case_uid, case_id, iso(s.opened_at), s.queue, s.policy,
                              s.category, s.seller_id, s.shop_id))
    if s.seller_id:
        for link in s.seller_links:
            cur.execute("INSERT INTO seller_links (seller_id, link) VALUES (?, ?) "
                        "ON CONFLICT (seller_id, link) DO NOTHING", (s.seller_id, link))


class Trends(Store):
    def put_signals(self, rows: Sequence[tuple[str, str, Signal]]) -> None:
        """Signals without their cases' rows (history brought in: the demo's, a bench's)."""

        def put(cur: Cursor) -> None:
            for case_uid, case_id, s in rows:
                put_signal(cur, case_uid, case_id, s)

        self._db.transaction(put, write=True)

    def windows(self, spans: Sequence[tuple[datetime, datetime]]) -> list[list[Row]]:
        """Each span's cases (the index walked, no table read), in one read transaction."""

        def read(cur: Cursor) -> list[list[Row]]:
            return [[tuple(r) for r in cur.query(  # type: ignore[misc]
                "SELECT queue, policy, category, seller_id, shop_id, case_id FROM signals "
                "WHERE opened_at >= ? AND opened_at < ?", (iso(start), iso(end)))]
                for start, end in spans]

        return self._db.transaction(read, write=False)

    def links(self, sellers: Sequence[str]) -> list[tuple[str, str]]:
        """What these sellers share, and with whom: each link of theirs that at most
        MAX_SHARED sellers have (a stock photo thousands show joins nobody), with its sellers."""
        if not sellers:
            return []

        def read(cur: Cursor) -> list[tuple[str, str]]:
            mine: set[str] = set()
            for i in range(0, len(sellers), 500):
                chunk = list(sellers[i:i + 500])
                mine |= {str(r[0]) for r in cur.query(
                    "SELECT DISTINCT link FROM seller_links WHERE seller_id IN "
                    f"({', '.join('?' * len(chunk))})", chunk)}
            out: list[tuple[str, str]] = []
            for link in sorted(mine):
                shared = cur.query("SELECT seller_id FROM seller_links WHERE link = ? LIMIT ?",
                                   (link, MAX_SHARED + 1))
                if 1 < len(shared) <= MAX_SHARED:
                    out += [(str(r[0]), link) for r in shared]
            return out

        return self._db.transaction(read, write=False)

    def first_signal(self) -> datetime | None:
        """When the ledger began counting (the oldest case it counts)."""
        rows = self._read("SELECT MIN(opened_at) FROM signals")
        return dt(rows[0][0]) if rows and rows[0][0] else None

    def spike(self, key: str) -> tuple[str, bool, int] | None:
        """The escalation a spike opened or joined, whether it leads there, its last count."""
        rows = self._read("SELECT escalation_id, leads, last_count FROM trend_spikes WHERE "
                          "spike_key = ?", (key,))
        return (str(rows[0][0]), bool(rows[0][1]), int(rows[0][2])) if rows else None

    def put_spike(self, key: str, escalation_id: str, leads: bool, seen: datetime,
                  count: int) -> None:
        """A spike and its escalation (a new one replaces one whose escalation has ended)."""
        self._write(
            "INSERT INTO trend_spikes (spike_key, escalation_id, leads, first_seen, last_count) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (spike_key) DO UPDATE SET escalation_id = "
            "excluded.escalation_id, leads = excluded.leads, last_count = CASE WHEN "
            "trend_spikes.escalation_id = excluded.escalation_id AND trend_spikes.last_count > "
            "excluded.last_count THEN trend_spikes.last_count ELSE excluded.last_count END, "
            "first_seen = CASE "
            "WHEN trend_spikes.escalation_id = excluded.escalation_id THEN trend_spikes."
            "first_seen ELSE excluded.first_seen END",
            (key, escalation_id, int(leads), iso(seen), count))

    def spikes(self, limit: int = 100) -> list[dict[str, Any]]:
        return [{"key": k, "escalation_id": e, "leads": bool(lead), "first_seen": dt(f),
                 "last_count": int(n)} for k, e, lead, f, n in self._read(
            "SELECT spike_key, escalation_id, leads, first_seen, last_count FROM trend_spikes "
            "ORDER BY first_seen DESC LIMIT ?", (limit,))]

    def daily(self, since: datetime, until: datetime) -> list[tuple[str, str, int]]:
        """Cases opened per policy and day (the trends page's chart)."""
        return [(str(p), str(d), int(n)) for p, d, n in self._read(
            "SELECT policy, substr(opened_at, 1, 10), COUNT(*) FROM signals WHERE opened_at >= ? "
            "AND opened_at < ? GROUP BY policy, substr(opened_at, 1, 10)",
            (iso(since), iso(until)))]

"""Calibration sets (loaded by a lead, kept as loaded) and the copies given to reviewers, with
their scores (the case's own ledger write fills them in: `ledger/outcomes.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domain.calibration import CalibrationItem
from domain.errors import Refused
from ledger.engines import Cursor, Store, iso


class Calibrations(Store):
    def put_calibration_set(self, set_id: str, items: Sequence[CalibrationItem], by: str
                            ) -> int:
        """Load a set whole, or refuse: a set loaded already under this name is not changed
        (the answers given are scored against the key they were given with). Loading the same
        items again is harmless; returns how many items the set has."""
        now = iso(datetime.now(UTC))
        rows = [(set_id, i.item_id, i.queue, i.model_dump_json(), by, now) for i in items]

        def put(cur: Cursor) -> int:
            have = {item: body for item, body in cur.query(
                "SELECT item_id, body FROM calibration_items WHERE set_id = ?", (set_id,))}
            if have and have != {r[1]: r[3] for r in rows}:
                raise Refused(f"calibration set {set_id} is loaded already with other items: "
                              f"load the new ones under another name")
            cur.execute_many(
                "INSERT INTO calibration_items (set_id, item_id, queue, body, loaded_by, "
                "loaded_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (set_id, item_id) DO NOTHING",
                rows)
            return len(rows)

        return self._db.transaction(put, write=True)

    def next_calibration_item(self, queue: str, reviewer: str
                              ) -> tuple[str, CalibrationItem] | None:
        """An item of the queue the reviewer has not been given yet (the oldest set first)."""
        rows = self._read(
            "SELECT i.set_id, i.body FROM calibration_items i WHERE i.queue = ? AND NOT EXISTS "
            "(SELECT 1 FROM calibration_cases c WHERE c.set_id = i.set_id AND c.item_id = "
            "i.item_id AND c.reviewer = ?) ORDER BY i.loaded_at, i.set_id, i.item_id LIMIT 1",
            (queue, reviewer))
        if not rows:
            return None
        return rows[0][0], CalibrationItem.model_validate_json(rows[0][1])

    def give_calibration(self, case_id: str, set_id: str, item_id: str, reviewer: str,
                         queue: str) -> None:
        self._write(
            "INSERT INTO calibration_cases (case_id, set_id, item_id, reviewer, queue, given_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (case_id) DO NOTHING",
            (case_id, set_id, item_id, reviewer, queue, iso(datetime.now(UTC))))

    def calibration_reviewer(self, case_id: str) -> str | None:
        """Whose calibration copy the case is (None: not one)."""
        rows = self._read("SELECT reviewer FROM calibration_cases WHERE case_id = ?", (case_id,))
        return str(rows[0][0]) if rows else None

    def calibration_sets(self) -> list[dict[str, Any]]:
        """Per set: its queues, items, copies given, answered and correct."""

        def read(cur: Cursor) -> list[Any]:
            queues = ("string_agg(DISTINCT i.queue, ',')" if cur.postgres
                      else "group_concat(DISTINCT i.queue)")
            return cur.query(
                f"SELECT i.set_id, {queues}, COUNT(*), MIN(i.loaded_by), MIN(i.loaded_at), "
                "SUM(g.given), SUM(g.answered), SUM(g.correct) FROM calibration_items i "
                "LEFT JOIN (SELECT set_id, item_id, COUNT(*) AS given, COUNT(decided_at) AS "
                "answered, SUM(correct) AS correct FROM calibration_cases GROUP BY set_id, "
                "item_id) g ON g.set_id = i.set_id AND g.item_id = i.item_id "
                "GROUP BY i.set_id ORDER BY MIN(i.loaded_at), i.set_id")

        return [{"set_id": s, "queues": sorted(set(qs.split(","))), "items": int(n),
                 "loaded_by": by, "loaded_at": at, "given": int(g or 0),
                 "answered": int(a or 0), "correct": int(c or 0)}
                for s, qs, n, by, at, g, a, c in self._db.transaction(read, write=False)]

    def calibration_answers(self, set_id: str | None, reviewer: str | None
                            ) -> list[dict[str, Any]]:
        """Each answered copy: its set, item, reviewer, answer and whether it matched."""
        where, params = ["decided_at IS NOT NULL"], []
        for column, value in (("set_id", set_id), ("reviewer", reviewer)):
            if value:
                where, params = [*where, f"{column} = ?"], [*params, value]
        return [{"set_id": s, "item_id": i, "reviewer": r, "queue": q, "label": lab,
                 "correct": bool(c), "same_policy": bool(sp), "same_actions": bool(sa),
                 "decided_at": at, "case_id": case}
                for case, s, i, r, q, lab, c, sp, sa, at in self._read(
            "SELECT case_id, set_id, item_id, reviewer, queue, label, correct, same_policy, "
            f"same_actions, decided_at FROM calibration_cases WHERE {' AND '.join(where)} "
            "ORDER BY set_id, item_id, reviewer", params)]


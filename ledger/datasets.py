"""The decisions a validation set is built from: each review case's decision with what it was
made on (`labels`), its case's state (none for history brought in from elsewhere: settled),
the QA checks and appeal verdicts on it and the QA checks of those verdicts; four reads over
indexed tables in one transaction."""

from __future__ import annotations

from datetime import datetime

from domain.datasets.labels import Check, Labelled, Verdict
from ledger.engines import Cursor, Store, dt, iso

_PERIOD = "l.decided_at >= ? AND l.decided_at < ?"


class Datasets(Store):
    def labelled(self, since: datetime | None, until: datetime) -> list[Labelled]:
        params = (iso(since) if since else "", iso(until))

        def read(cur: Cursor) -> list[Labelled]:
            checks: dict[str, list[Check]] = {}
            for of_appeal, join in ((False, "qa_results q ON q.review_case_uid = l.case_uid"),
                                    (True, "appeal_results a ON a.review_case_uid = l.case_uid "
                                           "JOIN qa_results q ON q.review_case_uid = a.case_uid")):
                for uid, label, checked, final, adjudicator, closed in cur.query(
                        f"SELECT l.case_uid, q.label, q.checked_at, q.final_label, "
                        f"q.adjudicator, q.closed_at FROM labels l JOIN {join} WHERE {_PERIOD}",
                        params):
                    checks.setdefault(uid, []).append(Check(
                        of_appeal=of_appeal, label=label, checked_at=dt(checked),
                        final_label=final, adjudicated=adjudicator is not None,
                        closed_at=dt(closed)))
            appeals: dict[str, list[Verdict]] = {}
            for uid, outcome, label, decided in cur.query(
                    f"SELECT a.review_case_uid, a.outcome, a.label, a.decided_at FROM labels l "
                    f"JOIN appeal_results a ON a.review_case_uid = l.case_uid WHERE {_PERIOD}",
                    params):
                appeals.setdefault(uid, []).append(
                    Verdict(outcome=outcome, label=label, decided_at=dt(decided)))
            return [
                Labelled.of(seen, case_uid=uid, state=state, label=label,
                            automated=bool(automated), decided_at=dt(decided),
                            checks=checks.get(uid, []), appeals=appeals.get(uid, []))
                for uid, state, label, automated, decided, seen in cur.query(
                    f"SELECT l.case_uid, c.state, d.label, d.automated, d.decided_at, l.seen "
                    f"FROM labels l JOIN decisions d ON d.case_uid = l.case_uid LEFT JOIN cases c ON "
                    f"c.case_uid = l.case_uid WHERE {_PERIOD} ORDER BY l.case_uid", params)]

        return self._db.transaction(read, write=False)

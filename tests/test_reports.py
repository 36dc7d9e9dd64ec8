"""Report figures against values worked out by hand on a fixture of decisions, QA checks,
appeals and calibration answers written as the workflows write them (with their ledger rows),
on both ledger engines; Cohen's kappa equal to scikit-learn's on the same pairs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.proportion import proportion_confint

from domain.core import Action, Priority, Subject, SubjectKind
from domain.errors import Forbidden, InvalidInput, build
from domain.outcomes import AppealOutcome, DecisionOutcome, Outcome, QaOutcome
from domain.people import Person, Role
from domain.qa.config import Target, TargetsConfig
from domain.record import LedgerRecord
from domain.reports import (
    ReportKind,
    ReportQuery,
    Section,
    figures,
    parse_period,
    scope,
    table,
)
from ledger.store import Ledger

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday
REMOVE, NONE_ = [Action.REMOVE], [Action.NO_ACTION]
TARGETS = TargetsConfig(team=Target(decisions_per_hour=10, sla_compliance=0.8, qa_agreement=0.9,
                                    calibration_accuracy=0.9))


def record(uid: str, outcome: Outcome, queue: str = "ip", state: str = "closed"
           ) -> LedgerRecord:
    return LedgerRecord(case_id=f"case-listing-{uid}", case_uid=uid,
                        subject=Subject(kind=SubjectKind.LISTING, id=uid), state=state,
                        queue=queue, priority=Priority.P2, policy_ids=[], opened_at=NOW,
                        timeline=[], revision=1, lifecycle="review", outcome=outcome)


def decision(uid: str, who: str, handling_s: float | None, label: str = "counterfeit",
             breached: bool = False, automated: bool = False, days_ago: int = 0,
             queue: str = "ip") -> LedgerRecord:
    at = NOW - timedelta(days=days_ago)
    return record(uid, DecisionOutcome(
        queue=queue, decider=who, automated=automated, label=label,
        actions=NONE_ if label == "none" else REMOVE,
        claimed_at=at - timedelta(seconds=handling_s) if handling_s is not None else None,
        decided_at=at, breached=breached), queue=queue)


def qa(uid: str, of: str, label: str, agreed: bool, final: str | None = None) -> LedgerRecord:
    return record(uid, QaOutcome(
        review_case_uid=of, checker="quinn", label=label,
        actions=NONE_ if label == "none" else REMOVE, same_actions=agreed, same_policy=agreed,
        checked_at=NOW, final_label=final, final_agrees=None if final is None else agreed,
        closed_at=NOW if final else None), queue="qa")


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    url = (f"sqlite:///{tmp_path / 'l.db'}" if request.param == "sqlite"
           else str(request.getfixturevalue("pg_url")))
    with closing(Ledger(url)) as ledger:
        ledger._db.transaction(lambda cur: [cur.execute(f"DELETE FROM {t}") for t in (
            "decisions", "qa_results", "appeal_results", "calibration_cases", "cases")],
            write=True)
        rows = [
            decision("a1", "alice", 60), decision("a2", "alice", 120),
            decision("a3", "alice", 300, breached=True, label="none"),
            decision("b1", "bob", 600, days_ago=7), decision("b2", "bob", 900),
            decision("auto1", "policy-engine", None, automated=True),
            decision("old", "alice", 60, days_ago=40),  # outside the period
            qa("q1", "a1", "counterfeit", True, final="counterfeit"),
            qa("q2", "a2", "none", False, final="none"),  # adjudicated against alice
            qa("q3", "b1", "counterfeit", True),
            qa("q5", "a3", "none", True, final="none"),
            qa("q4", "auto1", "counterfeit", True, final="counterfeit"),
            record("ap1", AppealOutcome(review_case_uid="b2", outcome="overturned",
                                        label="none", decided_at=NOW), queue="appeals"),
        ]
        for r in rows:
            assert ledger.record_case(r)
        for case_id, who, correct in (("c1", "alice", 1), ("c2", "alice", 0),
                                      ("c3", "bob", 1)):
            ledger.give_calibration(case_id, "gold", case_id, who, "ip")
            ledger._db.transaction(lambda cur, c=case_id, ok=correct: cur.execute(
                "UPDATE calibration_cases SET correct = ?, decided_at = ? WHERE case_id = ?",
                (ok, NOW.isoformat(), c)), write=True)
        assert ledger.record_case(decision("w1", "carol", 30, queue="ip", days_ago=0)
                                  .model_copy(update={"state": "queued", "outcome": None,
                                                      "case_uid": "open1"}))
        yield ledger


def report(ledger: Ledger, kind: ReportKind = ReportKind.QUALITY, **kw: object):  # noqa: ANN201
    q = ReportQuery(kind=kind, since=NOW - timedelta(days=28), until=NOW + timedelta(hours=1),
                    **kw)
    return figures(q, ledger.tallies(q, ("queued",), NOW + timedelta(hours=1)), TARGETS)


def test_reviewer_figures_equal_the_hand_worked_values(ledger: Ledger) -> None:
    r = report(ledger)
    by = {row.reviewer: row for row in r.reviewers}
    alice, bob = by["alice"], by["bob"]
    assert "policy-engine" not in by  # automated decisions are nobody's productivity
    assert alice.decisions == 3 and bob.decisions == 2
    assert alice.handling_median_s == 120 and bob.handling_median_s == 750
    assert alice.handling_p90_s == pytest.approx(264)  # numpy's linear quantile of 60,120,300
    assert alice.decisions_per_hour == pytest.approx(3 / (480 / 3600))
    assert bob.decisions_per_hour == pytest.approx(2 / (1500 / 3600))
    assert (alice.qa_checked, alice.qa_agreement) == (3, pytest.approx(2 / 3))
    low, high = proportion_confint(2, 3, alpha=0.05, method="wilson")
    assert (alice.qa_agreement_low, alice.qa_agreement_high) == (pytest.approx(low),
                                                                 pytest.approx(high))
    assert (bob.qa_checked, bob.qa_agreement) == (1, 1.0)
    assert (alice.calibration_answered, alice.calibration_accuracy) == (2, 0.5)
    assert (bob.calibration_answered, bob.calibration_accuracy) == (1, 1.0)
    assert (bob.appeals_decided, bob.appeal_overturn_rate) == (1, 1.0)
    assert alice.met == {"decisions_per_hour": True, "qa_agreement": False,
                         "calibration_accuracy": False}
    assert bob.met == {"decisions_per_hour": False, "qa_agreement": True,
                       "calibration_accuracy": True}


def test_queue_and_policy_figures(ledger: Ledger) -> None:
    r = report(ledger)
    ip = next(q for q in r.queues if q.queue == "ip")
    assert (ip.decisions, ip.automated) == (6, 1)
    # people's five decisions, one breached (the automated one was never queued)
    assert ip.sla_compliance == pytest.approx(4 / 5) and ip.met == {"sla_compliance": True}
    assert ip.backlog == 1 and ip.backlog_age_s == pytest.approx(3600)
    assert (ip.auto_checked, ip.auto_precision) == (1, 1.0)
    # the people's decisions QA checked (a1, a2, b1, a3): first label, QA label
    firsts = ["counterfeit", "counterfeit", "counterfeit", "none"]
    seconds = ["counterfeit", "none", "counterfeit", "none"]
    for policy in ("counterfeit", "none"):
        assert ip.kappa[policy] == pytest.approx(cohen_kappa_score(
            [f == policy for f in firsts], [s == policy for s in seconds]))
    assert 0 < ip.kappa["counterfeit"] < 1
    by = {p.policy: p for p in r.policies}
    # finals: a1 counterfeit->counterfeit, a2 counterfeit->none, auto1 ->counterfeit,
    # b2 counterfeit->none (the appeal overturned it)
    assert by["counterfeit"].confusion == {"counterfeit": 2, "none": 2}
    assert by["counterfeit"].precision == 0.5 and by["counterfeit"].recall == 1.0
    assert by["none"].confusion == {"none": 1}
    assert by["none"].precision == 1.0 and by["none"].recall == pytest.approx(1 / 3)


def test_weeks_and_filters(ledger: Ledger) -> None:
    r = report(ledger, ReportKind.PRODUCTIVITY)
    weeks = {w.week.isoformat(): w for w in r.weeks}
    assert weeks["2026-11-30"].decisions == 4 and weeks["2026-11-23"].decisions == 1
    only = report(ledger, reviewer="bob")
    assert [row.reviewer for row in only.reviewers] == ["bob"]
    assert only.queues[0].backlog == 0  # a reviewer's report is about their decisions
    header, rows = table(r, Section.REVIEWERS)
    assert header == ["reviewer", "decisions", "handling_median_s", "handling_p90_s",
                      "decisions_per_hour", "decisions_per_hour_target"]
    assert rows[0][:3] == ["alice", 3, 120.0] and rows[0][-1] == "met"


def test_who_reads_whose_figures_and_bad_periods() -> None:
    reviewer = Person(id="bob", name="Bob", roles=[Role.REVIEWER], queues=["ip"])
    lead = Person(id="lena", name="Lena", roles=[Role.LEAD])
    assert scope(reviewer, None) == "bob" and scope(reviewer, "bob") == "bob"
    with pytest.raises(Forbidden, match="only their own"):
        scope(reviewer, "alice")
    assert scope(lead, None) is None and scope(lead, "alice") == "alice"
    with pytest.raises(InvalidInput, match="ends .* before it starts"):
        build(ReportQuery, since=NOW, until=NOW - timedelta(days=1))
    with pytest.raises(InvalidInput, match="not a date"):
        parse_period("last week", None, NOW)
    assert parse_period("2026-11-01", "2026-11-02", NOW)[0].tzinfo is not None


def test_a_deciders_recent_agreement_for_the_drift_rate(ledger: Ledger) -> None:
    assert ledger.agreement("alice", 3) == pytest.approx(2 / 3)  # a1 agreed, a2 not, a3 agreed
    assert ledger.agreement("alice", 4) is None  # fewer checks than the window
    assert ledger.agreement("bob", 1) == 1.0

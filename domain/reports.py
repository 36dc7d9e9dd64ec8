"""Productivity and quality reports: figures per reviewer, queue, policy and week, from what
the ledger adds up (`Tallies`), each marked met or missed against the pack's `[targets]`.

Agreement intervals are Wilson's (statsmodels), inter-rater agreement is Cohen's kappa
(scikit-learn): the statistics are the field's libraries', imported when a report is made."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field, model_validator

from domain.core import Model
from domain.errors import Forbidden, InvalidInput
from domain.people import Person, Role
from domain.qa.config import Target, TargetsConfig

# who reads everyone's figures; anyone else reads their own
READ_ALL = frozenset({Role.LEAD, Role.SENIOR, Role.ADMIN})
MAX_PERIOD = timedelta(days=3 * 366)


class ReportKind(StrEnum):
    PRODUCTIVITY = "productivity"
    QUALITY = "quality"


class ReportQuery(Model):
    """What a report covers: decisions made in [since, until), of one queue or reviewer."""

    kind: ReportKind = ReportKind.PRODUCTIVITY
    since: AwareDatetime
    until: AwareDatetime
    queue: str | None = None
    reviewer: str | None = None

    @model_validator(mode="after")
    def _a_period(self) -> ReportQuery:
        if self.until <= self.since:
            raise ValueError(f"the period ends ({self.until:%Y-%m-%d %H:%M}) before it starts "
                             f"({self.since:%Y-%m-%d %H:%M})")
        if self.until - self.since > MAX_PERIOD:
            raise ValueError("a report covers at most three years")
        return self


def scope(person: Person, asked: str | None, readers: frozenset[Role] = READ_ALL) -> str | None:
    """The reviewer whose figures `person` may read: theirs unless they are of `readers`."""
    if readers & set(person.roles):
        return asked
    if asked not in (None, person.id):
        raise Forbidden(f"{person.id} may read only their own figures, not {asked}'s")
    return person.id


class Tallies(Model):
    """What the ledger adds up for a query (sums and counts, no history reads)."""

    # per reviewer: decisions, seconds of handling, decisions with a claim (handling known)
    decided: dict[str, tuple[int, float, int]] = Field(default_factory=dict)
    handling: dict[str, list[float]] = Field(default_factory=dict)  # seconds, per reviewer
    qa: dict[str, tuple[int, int]] = Field(default_factory=dict)  # checked, agreed
    calibration: dict[str, tuple[int, int]] = Field(default_factory=dict)  # answered, correct
    appeals: dict[str, tuple[int, int]] = Field(default_factory=dict)  # decided, overturned
    # per queue: decisions, automated, breached; open backlog and its oldest opening
    queues: dict[str, tuple[int, int, int]] = Field(default_factory=dict)
    backlog: dict[str, tuple[int, datetime | None]] = Field(default_factory=dict)
    auto_checked: dict[str, tuple[int, int]] = Field(default_factory=dict)  # final word, agreed
    pairs: list[tuple[str, str, str]] = Field(default_factory=list)  # queue, first, QA label
    confusion: list[tuple[str, str, int]] = Field(default_factory=list)  # first, final, count
    # per day: decisions, handling seconds, with handling, breached; QA checked, agreed;
    # calibration answered, correct
    days: dict[date, list[float]] = Field(default_factory=dict)
    now: AwareDatetime


class ReviewerRow(Model):
    reviewer: str
    decisions: int
    handling_median_s: float | None = None
    handling_p90_s: float | None = None
    decisions_per_hour: float | None = None
    qa_checked: int = 0
    qa_agreement: float | None = None
    qa_agreement_low: float | None = None  # 95 % Wilson interval
    qa_agreement_high: float | None = None
    calibration_answered: int = 0
    calibration_accuracy: float | None = None
    appeals_decided: int = 0
    appeal_overturn_rate: float | None = None
    met: dict[str, bool] = Field(default_factory=dict)  # target → met (figures with both)


class QueueRow(Model):
    queue: str
    decisions: int
    automated: int
    sla_compliance: float | None = None
    backlog: int = 0
    backlog_age_s: float | None = None  # the oldest waiting case's age
    auto_checked: int = 0
    auto_precision: float | None = None  # QA'd auto-actions whose final word agrees
    kappa: dict[str, float | None] = Field(default_factory=dict)  # per policy
    met: dict[str, bool] = Field(default_factory=dict)


class PolicyRow(Model):
    """First decisions against the final word (QA adjudication or appeal) for one label."""

    policy: str
    finals: int  # decisions with a final word whose first or final label is this one
    precision: float | None = None  # first said it, and the final word agrees
    recall: float | None = None  # the final word says it, and the first said it too
    confusion: dict[str, int] = Field(default_factory=dict)  # first label's final labels


class WeekRow(Model):
    week: date  # its Monday
    decisions: int
    decisions_per_hour: float | None = None
    sla_compliance: float | None = None
    qa_agreement: float | None = None
    calibration_accuracy: float | None = None


class Report(Model):
    query: ReportQuery
    targets: Target
    reviewers: list[ReviewerRow]
    queues: list[QueueRow]
    policies: list[PolicyRow]
    weeks: list[WeekRow]


def load_libraries() -> None:
    """Import the statistics libraries (a second or two, once per process): a server does it
    at start, not in its first report's answer."""
    import sklearn.metrics  # noqa: F401
    import statsmodels.stats.proportion  # noqa: F401


def figures(query: ReportQuery, t: Tallies, targets: TargetsConfig) -> Report:
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.proportion import proportion_confint

    target = targets.of(query.queue)
    reviewers = []
    for who in sorted(set(t.decided) | set(t.qa) | set(t.calibration) | set(t.appeals)):
        n, seconds, timed = t.decided.get(who, (0, 0.0, 0))
        checked, agreed = t.qa.get(who, (0, 0))
        answered, correct = t.calibration.get(who, (0, 0))
        appealed, overturned = t.appeals.get(who, (0, 0))
        row = ReviewerRow(reviewer=who, decisions=n, qa_checked=checked,
                          calibration_answered=answered, appeals_decided=appealed,
                          decisions_per_hour=timed / (seconds / 3600) if seconds > 0 else None,
                          qa_agreement=_share(agreed, checked),
                          calibration_accuracy=_share(correct, answered),
                          appeal_overturn_rate=_share(overturned, appealed))
        if handled := t.handling.get(who):
            row.handling_median_s, row.handling_p90_s = _quantile(handled, 0.5), _quantile(
                handled, 0.9)
        if checked:
            low, high = proportion_confint(agreed, checked, alpha=0.05, method="wilson")
            row.qa_agreement_low, row.qa_agreement_high = float(low), float(high)
        row.met = _met(target, decisions_per_hour=row.decisions_per_hour,
                       qa_agreement=row.qa_agreement,
                       calibration_accuracy=row.calibration_accuracy)
        reviewers.append(row)

    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for queue, first, second in t.pairs:
        pairs[queue].append((first, second))
    queues = []
    for queue in sorted(set(t.queues) | set(t.backlog)):
        n, automated, breached = t.queues.get(queue, (0, 0, 0))
        waiting, oldest = t.backlog.get(queue, (0, None))
        auto_n, auto_ok = t.auto_checked.get(queue, (0, 0))
        row = QueueRow(queue=queue, decisions=n, automated=automated,
                       sla_compliance=_share(n - automated - breached, n - automated),
                       backlog=waiting,
                       backlog_age_s=(t.now - oldest).total_seconds() if oldest else None,
                       auto_checked=auto_n, auto_precision=_share(auto_ok, auto_n))
        found = pairs.get(queue, [])
        for policy in sorted({label for pair in found for label in pair}):
            firsts = [a == policy for a, _ in found]
            seconds_ = [b == policy for _, b in found]
            row.kappa[policy] = (None if len(set(firsts) | set(seconds_)) < 2 else
                                 _finite(cohen_kappa_score(firsts, seconds_)))
        row.met = _met(targets.of(queue), sla_compliance=row.sla_compliance)
        queues.append(row)

    confusion: dict[str, dict[str, int]] = defaultdict(dict)
    for first, final, count in t.confusion:
        confusion[first][final] = confusion[first].get(final, 0) + count
    policies = []
    for policy in sorted({*confusion, *(f for row in confusion.values() for f in row)}):
        said = sum(confusion.get(policy, {}).values())
        right = confusion.get(policy, {}).get(policy, 0)
        final = sum(row.get(policy, 0) for row in confusion.values())
        policies.append(PolicyRow(policy=policy, finals=said + final - right,
                                  precision=_share(right, said), recall=_share(right, final),
                                  confusion=dict(sorted(confusion.get(policy, {}).items()))))
    return Report(query=query, targets=target, reviewers=reviewers, queues=queues,
                  policies=policies, weeks=_weeks(t.days))


class Section(StrEnum):
    REVIEWERS = "reviewers"
    QUEUES = "queues"
    POLICIES = "policies"
    WEEKS = "weeks"


# The columns of each section a kind of report shows (its CSV and its table); the JSON has all.
COLUMNS: dict[ReportKind, dict[Section, list[str]]] = {
    ReportKind.PRODUCTIVITY: {
        Section.REVIEWERS: ["reviewer", "decisions", "handling_median_s", "handling_p90_s",
                            "decisions_per_hour"],
        Section.QUEUES: ["queue", "decisions", "automated", "sla_compliance", "backlog",
                         "backlog_age_s"],
        Section.POLICIES: ["policy", "finals"],
        Section.WEEKS: ["week", "decisions", "decisions_per_hour", "sla_compliance"],
    },
    ReportKind.QUALITY: {
        Section.REVIEWERS: ["reviewer", "decisions", "qa_checked", "qa_agreement",
                            "qa_agreement_low", "qa_agreement_high", "calibration_answered",
                            "calibration_accuracy", "appeals_decided", "appeal_overturn_rate"],
        Section.QUEUES: ["queue", "decisions", "auto_checked", "auto_precision", "kappa"],
        Section.POLICIES: ["policy", "finals", "precision", "recall", "confusion"],
        Section.WEEKS: ["week", "qa_agreement", "calibration_accuracy"],
    },
}


def table(report: Report, section: Section) -> tuple[list[str], list[list[Any]]]:
    """A section of the report as a header and rows of plain values, with each figure's
    target verdict (`met` / `missed`) where it has one."""
    columns = COLUMNS[report.query.kind][section]
    found: list[Model] = getattr(report, section.value)
    judged = sorted({k for row in found for k in getattr(row, "met", {})
                     if k in columns})
    rows = []
    for row in found:
        data = row.model_dump(mode="json")
        cells = [_plain(data[c]) for c in columns]
        met = getattr(row, "met", {})
        cells += [("met" if met[k] else "missed") if k in met else "" for k in judged]
        rows.append(cells)
    return columns + [f"{k}_target" for k in judged], rows


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return " ".join(f"{k}={_plain(v)}" for k, v in value.items())
    return value


def _weeks(days: dict[date, list[float]]) -> list[WeekRow]:
    weeks: dict[date, list[float]] = {}
    for day, figures in days.items():
        monday = day - timedelta(days=day.weekday())
        acc = weeks.setdefault(monday, [0.0] * len(figures))
        for i, v in enumerate(figures):
            acc[i] += v
    return [WeekRow(week=w, decisions=int(n), decisions_per_hour=timed / (s / 3600) if s else None,
                    sla_compliance=_share(n - breached, n), qa_agreement=_share(agreed, checked),
                    calibration_accuracy=_share(correct, answered))
            for w, (n, s, timed, breached, checked, agreed, answered, correct)
            in sorted(weeks.items())]


def _met(target: Target, **figures: float | None) -> dict[str, bool]:
    goals = target.model_dump()
    return {name: value >= goals[name] for name, value in figures.items()
            if value is not None and goals.get(name) is not None}


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _quantile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.quantile(np.asarray(values), q))


def _finite(value: Any) -> float | None:
    v = float(value)
    return v if v == v else None  # NaN (no variation) is no figure


def at(text: str, name: str) -> datetime:
    """`--name`'s time from YYYY-MM-DD or an ISO time (UTC when it has no offset)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--{name} {text!r} is not a date (YYYY-MM-DD) or an ISO "
                           f"time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_period(since: str | None, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    """A report's period from YYYY-MM-DD or ISO times (UTC when no offset): by default the
    28 days to the end of the current minute (the same report for everyone asking within it)."""
    end = at(until, "until") if until else (now.replace(second=0, microsecond=0)
                                             + timedelta(minutes=1))
    try:
        return (at(since, "since") if since else end - timedelta(days=28)), end
    except OverflowError:
        raise InvalidInput(f"--until {until!r} leaves no 28 days before it: give --since "
                           f"too") from None

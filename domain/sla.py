"""Service levels: review deadlines by priority and the appeal window."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, time, timedelta

from domain.core import Priority

DEFAULT_SLA_HOURS: dict[Priority, float] = {
    Priority.P0: 1,
    Priority.P1: 4,
    Priority.P2: 24,
    Priority.P3: 72,
}

APPEAL_MONTHS = 6  # DSA Art. 20(1): at least six months after the decision is made known


def deadline(start: datetime, hours: float) -> datetime:
    return start + timedelta(hours=hours)


def add_months(day: datetime, months: int) -> datetime:
    """The same day `months` later; the month's last day where it has no such day
    (31 August + 6 months = 28 or 29 February)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))


def appeal_deadline(delivered_at: datetime) -> datetime:
    """End of the appeal window for a notice delivered at `delivered_at`.

    Counted as EU law counts periods in months (Regulation 1182/71, Art. 3): the window ends
    with the last hour of the day six months on that has the delivery's date (or the month's
    last day when it has none), in UTC; so 181 to 184 days and never less than six months.
    """
    end_day = add_months(delivered_at.astimezone(UTC), APPEAL_MONTHS).date()
    return datetime.combine(end_day + timedelta(days=1), time(0, tzinfo=UTC))

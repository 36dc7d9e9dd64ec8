"""Service levels: review deadlines by priority and the appeal window."""

from datetime import datetime, timedelta

from domain.models import Priority

DEFAULT_SLA_HOURS: dict[Priority, float] = {
    Priority.P0: 1,
    Priority.P1: 4,
    Priority.P2: 24,
    Priority.P3: 72,
}

APPEAL_WINDOW = timedelta(days=180)  # DSA Art. 20(1): at least six months


def deadline(start: datetime, hours: float) -> datetime:
    return start + timedelta(hours=hours)

"""What trend scans count and find (the models: light, read by workflows and the pack); how
they test them is `domain/trends.py`."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from domain.core import Model, Sealable
from domain.errors import InvalidInput

MIN_WINDOW = timedelta(minutes=1)


class Dimension(StrEnum):  # most specific first
    CLUSTER = "cluster"
    SHOP = "shop"
    CATEGORY = "category"
    POLICY = "policy"
    QUEUE = "queue"


class TrendsConfig(BaseModel):
    """The pack's `[trends]`: the scan's window and schedule, the baseline's weeks, the false
    discovery rate and the least count a spike needs."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    window_minutes: StrictInt = Field(default=60, ge=1, le=7 * 24 * 60)
    every_minutes: StrictInt = Field(default=60, ge=1, le=7 * 24 * 60)
    baseline_weeks: StrictInt = Field(default=4, ge=1, le=52)
    fdr: StrictFloat | StrictInt = Field(default=0.01, gt=0, lt=1)
    min_count: StrictInt = Field(default=10, ge=1)


class Signal(Model):
    """A review case as trends count it (written with its ledger row)."""

    opened_at: datetime
    queue: str
    policy: str  # the first policy it hit or was reported under; "" for none
    category: str = ""
    seller_id: str | None = None
    shop_id: str | None = None
    seller_links: list[str] = Field(default_factory=list)  # "payout:…", "contact:…", "image:…"


class Volume(Model):
    """What one dimension's value counted: now, and in each baseline week."""

    dimension: Dimension
    value: str
    count: int
    baseline: list[int]
    cases: list[str] = Field(default_factory=list)  # the window's case ids (examples)
    members: list[str] = Field(default_factory=list)  # a cluster's sellers


class Spike(Volume):
    expected: float  # the baseline's mean
    p_value: float
    q_value: float  # after the false-discovery correction

    @property
    def key(self) -> str:
        return f"{self.dimension.value}:{self.value}"


class Finding(Model):
    """One escalation's worth: the leading spike and the spikes about the same cases."""

    lead: Spike
    evidence: list[Spike] = Field(default_factory=list)

    def reason(self, window: timedelta) -> str:
        s = self.lead
        what = (f"sellers {printable(', '.join(s.members[:50]), 2000)}"
                if s.dimension is Dimension.CLUSTER
                else f"{s.dimension.value} {printable(s.value)}")
        also = "; also " + ", ".join(f"{printable(e.key)} ({e.count})" for e in self.evidence) \
            if self.evidence else ""
        return (f"trend: {s.count} case(s) in the last {_span(window)} about {what}, "
                f"against {s.expected:.1f} expected from the same hours of "
                f"{len(s.baseline)} week(s) before (Poisson rates test p={s.p_value:.2g}, "
                f"q={s.q_value:.2g}); examples {', '.join(s.cases[:5])}{also}")


def _span(d: timedelta) -> str:
    minutes = int(d.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


class ScanInput(Sealable):
    """A scan: of the window ending `at` (default: when it runs), `window_minutes` long
    (default: the pack's)."""

    at: datetime | None = None
    window_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)


class ScanResult(Model):
    at: datetime
    window_minutes: int
    tested: int
    spikes: list[Spike]
    baseline_weeks: int = 0  # weeks before that the ledger counted (none: nothing tested)
    opened: list[str] = Field(default_factory=list)  # escalations opened
    noted: list[str] = Field(default_factory=list)  # open escalations told the spike grew
    known: list[str] = Field(default_factory=list)  # escalations already saying so
    failed: list[str] = Field(default_factory=list)  # findings no escalation could take


_SPAN = re.compile(r"(\d{1,6})\s*(s|m|min|h|d)")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_span(text: str, name: str) -> timedelta:
    """`90s`, `30m`, `1h`, `2d`."""
    m = _SPAN.fullmatch(text.strip())
    if not m:
        raise InvalidInput(f"{name} {text!r} is not a duration (e.g. 30m, 1h, 2d)")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def whole_minutes(span: timedelta, name: str) -> int:
    if span < MIN_WINDOW:
        raise InvalidInput(f"{name} of {span} is shorter than a minute")
    if span > timedelta(weeks=1):
        raise InvalidInput(f"{name} of {span} is longer than the baseline's week")
    return int(span.total_seconds() // 60)


def printable(text: str, limit: int = 120) -> str:
    """Text from the marketplace as an escalation may quote it: no control, format or
    bidirectional characters, at most `limit` characters."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf"))
    return kept if len(kept) <= limit else kept[:limit - 1] + "…"

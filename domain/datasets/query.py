"""What a validation set asks for, and who may export one."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from domain.core import Model
from domain.errors import InvalidInput
from domain.people import Role
from domain.reports import at
from domain.text import Ident

EXPORTERS = frozenset({Role.LEAD, Role.ADMIN})
TRAIN = "train"  # the split that takes what the named shares leave
MAX_SIZE = 1_000_000
_SPLIT_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


class Stratum(StrEnum):
    POLICY = "policy"
    LABEL = "label"


class DatasetQuery(Model):
    """Decisions made in [since, until) under any of `policies`: `size` rows (default: all),
    sampled in proportion to the strata of `stratify`, split by `split` (each named split's
    share; `train` takes the rest), reproducible by `seed`."""

    policies: list[Ident] = Field(min_length=1, max_length=50)
    since: AwareDatetime | None = None
    until: AwareDatetime
    size: int | None = Field(default=None, ge=1, le=MAX_SIZE)
    stratify: list[Stratum] = Field(default_factory=list, max_length=2)
    split: dict[str, float] = Field(default_factory=lambda: {"validation": 0.2})
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    include_provisional: bool = False

    @model_validator(mode="after")
    def _sound(self) -> DatasetQuery:
        for name, when in (("since", self.since), ("until", self.until)):
            if when is not None and not 1970 <= when.year <= 9000:
                raise ValueError(f"--{name} {when:%Y-%m-%d} is outside the years 1970 to 9000")
        if self.since is not None and self.until <= self.since:
            raise ValueError(f"the period ends ({self.until:%Y-%m-%d %H:%M}) before it starts "
                             f"({self.since:%Y-%m-%d %H:%M})")
        for name, share in self.split.items():
            if name == TRAIN or not _SPLIT_NAME.fullmatch(name):
                raise ValueError(f"split name {name!r}: lowercase letters, digits and _ "
                                 f"(not {TRAIN!r}, which takes the rest)")
            if not 0 < share < 1:
                raise ValueError(f"split {name}={share}: a share is above 0 and below 1")
        if sum(self.split.values()) >= 1:
            raise ValueError(f"the split's shares sum to {sum(self.split.values()):g}: they "
                             f"must sum below 1 ({TRAIN} takes the rest)")
        if len(set(self.policies)) != len(self.policies):
            raise ValueError("a policy is named twice")
        if len(set(self.stratify)) != len(self.stratify):
            raise ValueError("a stratum is named twice")
        return self

    def splits(self) -> dict[str, float]:
        """Every split and its share, `train` first."""
        return {TRAIN: 1 - sum(self.split.values()), **dict(sorted(self.split.items()))}


def parse_split(text: str) -> dict[str, float]:
    """`validation=0.2` or `validation=0.1,test=0.1`."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, eq, value = part.partition("=")
        try:
            share = float(value)
        except ValueError:
            share = float("nan")
        if not eq or share != share:
            raise InvalidInput(f"--split {part!r} is not NAME=SHARE (e.g. validation=0.2)")
        if name.strip() in out:
            raise InvalidInput(f"--split names {name.strip()!r} twice")
        out[name.strip()] = share
    return out


def default_until(now: datetime) -> datetime:
    """The start of today (UTC): an export asked again today gives the same rows."""
    return datetime.combine(now.astimezone(UTC).date(), time(), UTC)


def parse_until(text: str | None, now: datetime) -> datetime:
    return at(text, "until") if text else default_until(now)

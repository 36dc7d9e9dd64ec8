"""The registry of lifecycles: every declaration casework runs, by name."""

from __future__ import annotations

from domain.appeal.lifecycle import APPEAL
from domain.engine import Declaration
from domain.escalation.lifecycle import ESCALATION
from domain.qa.lifecycle import QA
from domain.review.lifecycle import REVIEW
from domain.shop_review.lifecycle import SHOP_REVIEW
from domain.takedown.lifecycle import TAKEDOWN

LIFECYCLES: dict[str, Declaration] = {d.name: d for d in (REVIEW, APPEAL, ESCALATION,
                                                          TAKEDOWN, SHOP_REVIEW, QA)}


def every(named_set: str) -> frozenset[str]:
    """A named set of states (`final`, `working`, `held`, …) across every lifecycle."""
    return frozenset().union(*(getattr(d, named_set) for d in LIFECYCLES.values()))


# Open work, as every page and report counts it: waiting to be claimed, held by someone, or
# waiting for a second person (not a decided case in its appeal window, nor a finished job).
OPEN_WORK = every("queued") | every("held") | every("awaiting")

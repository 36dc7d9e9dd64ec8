"""The shop review lifecycle, declared once: screening a shop to one senior's decision."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from domain.authority import why_not_second
from domain.engine import Declaration, Guards, states
from domain.shop_review.models import ShopDecision, ShopOutcome, ShopReviewState


class ShopStage(StrEnum):
    SCREENING = "screening"
    AWAITING_DECISION = "awaiting_decision"
    ENFORCING = "enforcing"
    CLEARED = "cleared"
    ENFORCED = "enforced"
    ABANDONED = "abandoned"

FINAL = ["cleared", "enforced", "abandoned"]

SHOP_REVIEW_TRANSITIONS: list[dict[str, Any]] = [
    # Every listing screened (hits filed on review cases) and the seller's history gathered.
    {"trigger": "screened", "source": "screening", "dest": "awaiting_decision"},
    {"trigger": "abandon", "source": "screening", "dest": "abandoned"},  # no such shop
    {"trigger": "breach_sla", "source": "awaiting_decision", "dest": None},
    # One shop-level decision, by a senior who did not ask for the review.
    {"trigger": "decide", "source": "awaiting_decision", "dest": "cleared",
     "conditions": "clears"},
    {"trigger": "decide", "source": "awaiting_decision", "dest": "enforcing",
     "unless": "clears"},
    # The takedown job that carries the decision out has finished.
    {"trigger": "finish", "source": "enforcing", "dest": "enforced"},
]


class ShopReviewGuards(Guards):
    record: ShopReviewState

    def why_not_decide(self, req: ShopDecision) -> str | None:
        review = self.record
        if reason := why_not_second(req.decider, {"asked for": [review.request.requester]}):
            return reason
        if req.outcome is ShopOutcome.REMOVE_HITS and not review.hits:
            return "the review found no hits to remove"
        if req.outcome.action and not (req.policy_ids or review.hits):
            return (f"name the policy to {req.outcome.value.replace('_', ' ')} for "
                    "(--policy): the review found no hits to cite")
        return None

    def clears(self, req: ShopDecision) -> bool:
        return req.outcome is ShopOutcome.CLEAR


SHOP_REVIEW = Declaration(
    name="shop_review", state_enum=ShopStage, transitions=SHOP_REVIEW_TRANSITIONS,
    guards=ShopReviewGuards, noun="shop review",
    waiting=states(["screening", "awaiting_decision", "enforcing"]),
    working=states(["screening", "enforcing"]), awaiting=states(["awaiting_decision"]),
    reasons={"decide": ShopReviewGuards.why_not_decide})

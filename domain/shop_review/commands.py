"""The shop review's command (see `domain.commands`): one senior's shop-level decision."""

from __future__ import annotations

from domain.commands import CommandSpec, table
from domain.people import Role
from domain.shop_review.models import ShopDecision, ShopReviewSummary

SHOP_COMMANDS = table(
    "shop_review",
    CommandSpec("decide", ShopDecision, "decide", Role.SENIOR,
                "the shop-level decision (a senior, not the requester)", "decision",
                any_queue=True, update="decide_shop", answer=ShopReviewSummary),
)

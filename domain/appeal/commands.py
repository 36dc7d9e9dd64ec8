"""The appeal's commands declared in a table (see `domain.commands`); its claim and verdict
(whose trigger follows the outcome) are written by hand."""

from __future__ import annotations

from domain.authority import APPROVERS
from domain.commands import CommandSpec, table
from domain.review.models import ApproveRequest

APPEAL_COMMANDS = table(
    "appeal",
    CommandSpec("approve", ApproveRequest, "approve", APPROVERS,
                "approve a severe verdict (a second person)", "approval", any_queue=True,
                update="approve_appeal"),
)

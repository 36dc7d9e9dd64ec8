"""The review case's commands, one line each (see `domain.commands`)."""

from __future__ import annotations

from domain.authority import APPROVERS
from domain.commands import CommandSpec, table
from domain.people import Role
from domain.review.models import (
    ApproveRequest,
    CaseNoteRequest,
    DecideRequest,
    HoldRequest,
    RejectRequest,
    ReleaseRequest,
    RetryRequest,
)

# Whoever works the case's queue, and those who oversee it.
NOTE_TAKERS = frozenset({Role.REVIEWER, Role.SENIOR, Role.LEAD})

REVIEW_COMMANDS = table(
    "review",
    CommandSpec("decide", DecideRequest, "decide", Role.REVIEWER, "decide a case you hold",
                "decision"),
    CommandSpec("hold", HoldRequest, "hold", Role.REVIEWER,
                "put a case you hold on hold (its SLA stops)", "hold", required=("reason",)),
    CommandSpec("note", CaseNoteRequest, "note", NOTE_TAKERS,
                "add a note to a case (@name puts it in that person's inbox)", "note"),
    CommandSpec("release", ReleaseRequest, "release", Role.REVIEWER,
                "give back a case you hold: it waits in its queue again, its SLA running on",
                "release"),
    CommandSpec("resume", HoldRequest, "resume", Role.REVIEWER,
                "resume a case on hold (its SLA runs on)", "resume", fields=()),
    CommandSpec("approve", ApproveRequest, "approve", APPROVERS,
                "approve a severe decision (a second person)", "approval"),
    CommandSpec("reject", RejectRequest, "reject", APPROVERS,
                "send a decision that waits for approval back to its queue (a second person)",
                "rejection"),
    CommandSpec("retry", RetryRequest, "retry", Role.OPS,
                "resume a case waiting in needs_attention, once repaired (ops)", "retry",
                any_queue=True),
)

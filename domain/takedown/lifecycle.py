"""The takedown lifecycle, declared once: a job from its plan to its end (or its reversal)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from domain.authority import approval_needed, why_not_second
from domain.engine import Declaration, Guards, states
from domain.takedown.models import ApproveJob, JobCommand, TakedownState


class JobStage(StrEnum):
    PLANNED = "planned"
    REFUSED = "refused"
    PENDING_APPROVAL = "pending_approval"
    EXECUTING = "executing"
    PAUSED = "paused"
    COMPLETED = "completed"
    PARTIALLY_FAILED = "partially_failed"
    CANCELLED = "cancelled"
    REVERSING = "reversing"
    REVERSED = "reversed"
    CLOSED = "closed"

FINISHED = ["completed", "partially_failed", "cancelled"]

TAKEDOWN_TRANSITIONS: list[dict[str, Any]] = [
    # Asked for by someone who may not start bulk work (or not through casework): nothing acts.
    {"trigger": "refuse", "source": "planned", "dest": "refused"},
    # The engine's four-eyes rule: severe actions, jobs above the pack's size (the requester's
    # jobs in the split window together), orders from authorities the pack does not know wait
    # for a senior who took no part; a known authority's order executes at once (DSA Art. 9).
    {"trigger": "await_approval", "source": "planned", "dest": "pending_approval",
     "conditions": "needs_approval"},
    {"trigger": "start", "source": "planned", "dest": "executing", "unless": "needs_approval"},
    {"trigger": "approve", "source": "pending_approval", "dest": "executing"},
    {"trigger": "breach_sla", "source": "pending_approval", "dest": None},
    # Pause and cancel take effect once the batch in flight is done.
    {"trigger": "pause", "source": "executing", "dest": "paused"},
    {"trigger": "resume", "source": "paused", "dest": "executing"},
    {"trigger": "cancel", "source": ["pending_approval", "executing", "paused"],
     "dest": "cancelled"},
    {"trigger": "finish", "source": "executing", "dest": "partially_failed",
     "conditions": "has_failures"},
    {"trigger": "finish", "source": "executing", "dest": "completed", "unless": "has_failures"},
    {"trigger": "reverse", "source": FINISHED, "dest": "reversing"},
    {"trigger": "finish_reversal", "source": "reversing", "dest": "reversed"},
    {"trigger": "close", "source": [*FINISHED, "reversed"], "dest": "closed"},
]


class TakedownGuards(Guards):
    record: TakedownState

    def approval_reason(self) -> str | None:
        """Why the job waits for a second person (None: it executes at once)."""
        req, s = self.record.request, self.record.settings
        if not s.four_eyes:  # runs from before the engine's rule
            big = req.order is None and req.shop_review_id is None and req.items > s.approval_above
            return f"{req.items} items exceed {s.approval_above}" if big else None
        return approval_needed([req.action], items=req.items, recent_items=s.recent_items,
                               threshold=s.approval_above,
                               authority=req.order.authority if req.order else None,
                               known_authorities=s.known_authorities)

    def needs_approval(self) -> bool:
        return self.approval_reason() is not None

    def why_not_approve(self, req: ApproveJob) -> str | None:
        request = self.record.request
        parties = {"asked for": [request.requester], **request.parties}
        return why_not_second(req.approver, parties)

    def why_not_command(self, req: JobCommand) -> str | None:
        requester = self.record.request.requester
        if req.requester != requester:
            return f"only the requester ({requester}) may steer this job, not {req.requester}"
        return None

    def why_not_reverse(self, req: JobCommand) -> str | None:
        action = self.record.request.action
        if action.reversal is None:
            return f"{action.value} cannot be reversed"
        return self.why_not_command(req)

    def has_failures(self) -> bool:
        return self.record.progress.failed > 0


TAKEDOWN = Declaration(
    name="takedown", state_enum=JobStage, transitions=TAKEDOWN_TRANSITIONS,
    guards=TakedownGuards, noun="job",
    waiting=states(["pending_approval", "executing", "paused", "reversing"], FINISHED),
    awaiting=states(["pending_approval"]), working=states(["planned", "executing", "reversing"]),
    reasons={"approve": TakedownGuards.why_not_approve,
             "reverse": TakedownGuards.why_not_reverse,
             **{t: TakedownGuards.why_not_command for t in ("pause", "resume", "cancel")}})

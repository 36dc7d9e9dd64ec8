"""The escalation lifecycle, declared once: a sensitive matter from opening to closure."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from domain.engine import Declaration, Guards, states
from domain.escalation.models import (
    EscalationState,
    OwnerCommand,
    ResolveRequest,
    SeverityRequest,
)


class EscalationStage(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    HANDED_OFF = "handed_off"
    CLOSED = "closed"

# Owned and worked on: leadership hears on a schedule; it may be resolved or handed off.
ACTIVE = ["acknowledged", "investigating"]

ESCALATION_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "acknowledge", "source": "open", "dest": "acknowledged"},
    # The owner's first note starts the investigation.
    {"trigger": "note", "source": "acknowledged", "dest": "investigating"},
    {"trigger": "note", "source": "investigating", "dest": None},
    {"trigger": "change_severity", "source": ACTIVE, "dest": None},
    {"trigger": "resolve", "source": ACTIVE, "dest": "resolved"},
    {"trigger": "hand_off", "source": ACTIVE, "dest": "handed_off"},
    {"trigger": "close", "source": ["resolved", "handed_off"], "dest": "closed"},
    {"trigger": "breach_sla", "source": "open", "dest": None},
    {"trigger": "report_status", "source": ACTIVE, "dest": None},
]


class EscalationGuards(Guards):
    record: EscalationState

    def why_not_act(self, req: OwnerCommand) -> str | None:
        """Only the owner acts on an escalation; one opened without an owner belongs to
        whoever acknowledges it."""
        owner = self.record.assignee
        if owner is not None and req.owner != owner:
            return f"only the owner ({owner}) may act on this escalation, not {req.owner}"
        return None

    def why_not_change_severity(self, req: SeverityRequest) -> str | None:
        if req.severity is self.record.priority:
            return f"the escalation is {req.severity.value} already"
        return self.why_not_act(req)

    def why_not_resolve(self, req: ResolveRequest) -> str | None:
        """The review case validates the decision it is handed (it knows its subject and
        policies); an escalation without one has nowhere to carry actions out."""
        if req.actions and self.record.review_case_id is None:
            return ("this escalation has no review case to carry out actions: resolve it "
                    "without actions, or hand it off")
        return self.why_not_act(req)



ESCALATION = Declaration(
    name="escalation", state_enum=EscalationStage, transitions=ESCALATION_TRANSITIONS,
    guards=EscalationGuards, noun="escalation", waiting=states(["open"], ACTIVE),
    queued=states(["open"]), held=states(ACTIVE), working=states(["resolved"]),
    reasons={"acknowledge": EscalationGuards.why_not_act,
             "note": EscalationGuards.why_not_act,
             "change_severity": EscalationGuards.why_not_change_severity,
             "resolve": EscalationGuards.why_not_resolve,
             "hand_off": EscalationGuards.why_not_act})

"""The escalation lifecycle, declared once: a sensitive matter from opening to closure."""

from __future__ import annotations

from typing import Any

from domain.engine import Declaration, Guards
from domain.escalation.models import (
    EscalationState,
    OwnerCommand,
    ResolveRequest,
    SeverityRequest,
)

ESCALATION_STATES = ["open", "acknowledged", "investigating", "resolved", "handed_off", "closed"]
# Owned and worked on: leadership hears on a schedule; it may be resolved or handed off.
ACTIVE = ["acknowledged", "investigating"]

ESCALATION_TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "acknowledge", "source": "open", "dest": "acknowledged", "conditions": "by_owner"},
    # The owner's first note starts the investigation.
    {"trigger": "note", "source": "acknowledged", "dest": "investigating",
     "conditions": "by_owner"},
    {"trigger": "note", "source": "investigating", "dest": None, "conditions": "by_owner"},
    {"trigger": "change_severity", "source": ACTIVE, "dest": None, "conditions": "severity_ok"},
    {"trigger": "resolve", "source": ACTIVE, "dest": "resolved", "conditions": "resolution_ok"},
    {"trigger": "hand_off", "source": ACTIVE, "dest": "handed_off", "conditions": "by_owner"},
    {"trigger": "close", "source": ["resolved", "handed_off"], "dest": "closed"},
    {"trigger": "breach_sla", "source": "open", "dest": None},
    {"trigger": "report_status", "source": ACTIVE, "dest": None},
]


class EscalationGuards(Guards):
    record: EscalationState

    def why_not_act(self, req: OwnerCommand) -> str | None:
        """Only the owner acts on an escalation; one opened without an owner belongs to
        whoever acknowledges it."""
        owner = self.record.owner
        if owner is not None and req.owner != owner:
            return f"only the owner ({owner}) may act on this escalation, not {req.owner}"
        return None

    def by_owner(self, req: OwnerCommand) -> bool:
        return self.why_not_act(req) is None

    def why_not_change_severity(self, req: SeverityRequest) -> str | None:
        if req.severity is self.record.severity:
            return f"the escalation is {req.severity.value} already"
        return self.why_not_act(req)

    def severity_ok(self, req: SeverityRequest) -> bool:
        return self.why_not_change_severity(req) is None

    def why_not_resolve(self, req: ResolveRequest) -> str | None:
        """The review case validates the decision it is handed (it knows its subject and
        policies); an escalation without one has nowhere to carry actions out."""
        if req.actions and self.record.review_case_id is None:
            return ("this escalation has no review case to carry out actions: resolve it "
                    "without actions, or hand it off")
        return self.why_not_act(req)

    def resolution_ok(self, req: ResolveRequest) -> bool:
        return self.why_not_resolve(req) is None


ESCALATION = Declaration(
    name="escalation", states=ESCALATION_STATES, transitions=ESCALATION_TRANSITIONS,
    guards=EscalationGuards, noun="escalation",
    reasons={"acknowledge": EscalationGuards.why_not_act,
             "note": EscalationGuards.why_not_act,
             "change_severity": EscalationGuards.why_not_change_severity,
             "resolve": EscalationGuards.why_not_resolve,
             "hand_off": EscalationGuards.why_not_act})

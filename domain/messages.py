"""The messages casework sends: their kinds, their recipients (a subject's seller, a reporter, a
staff address) and their one-time ids, as the outbox keeps them."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import AwareDatetime

from domain.core import Decision, Model, Subject


class MessageKind(StrEnum):
    STATEMENT_OF_REASONS = "statement_of_reasons"
    WARNING = "warning"
    OUTCOME = "outcome"
    SLA_BREACH = "sla_breach"
    NEEDS_ATTENTION = "needs_attention"
    DEPENDENCY_DOWN = "dependency_down"
    FORWARD_REFUSED = "forward_refused"
    APPROVAL_NEEDED = "approval_needed"
    HELD_TOO_LONG = "held_too_long"
    APPEAL_OUTCOME = "appeal_outcome"
    ORDER_REPORT = "order_report"
    ON_CALL = "on_call"  # a P0 escalation, to the on-call owner at once
    LEADERSHIP_UPDATE = "leadership_update"  # an open escalation's status, on a schedule
    DECISION_CORRECTED = "decision_corrected"  # a QA check's senior changed what was enforced


OPS = "ops"  # where staff messages go when a case has no queue lead yet


def seller_of(subject: Subject) -> str:
    """The recipient that stands for the seller of a subject (the outbox resolves it)."""
    return f"seller-of:{subject}"


def reporter_address(reporter: str) -> str:
    return f"reporter:{reporter}"


def seller_subject(recipient: str) -> Subject | None:
    """The subject of a `seller_of` recipient, or None for any other recipient."""
    prefix = "seller-of:"
    return Subject.parse(recipient.removeprefix(prefix)) if recipient.startswith(prefix) else None


def outcome_message_id(case_uid: str, reporter_key: str) -> str:
    """One outcome message per reporter and case: the outbox lands it once."""
    return f"{case_uid}-outcome-{hashlib.sha256(reporter_key.encode()).hexdigest()[:16]}"


class Notification(Model):
    """One message; `message_id` makes re-sending it land once in the outbox."""

    message_id: str
    case_id: str
    recipient: str  # `seller_of(subject)`, `reporter_address(id)` or an address (a lead's)
    kind: str  # a MessageKind
    text: str
    statement: dict[str, object] | None = None


class Receipt(Model):
    message_id: str
    delivered_at: AwareDatetime
    channels: list[str]


def describe_decision(d: Decision) -> str:
    """A decision in one line, as timelines and staff messages give it."""
    policies = ", ".join(d.policy_ids) or "no policy"
    return f"{', '.join(a.value for a in d.actions)} under {policies}: {d.reason}"

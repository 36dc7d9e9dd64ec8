"""Escalations through the client: sensitive matters opened from outside or from a review case,
worked by their owners."""

from __future__ import annotations

from collections.abc import Sequence

from activities.escalation import escalation_id_for, open_escalation, open_request_id
from client.base import ClientBase, parse_actions, parse_choice
from domain.core import Priority, Subject
from domain.errors import InvalidInput, build
from domain.escalation.commands import ESCALATION_COMMANDS as COMMANDS
from domain.escalation.models import (
    EscalationSource,
    EscalationState,
    EscalationSummary,
    HandOffTo,
    OpenRequest,
)
from workflows.escalation import EscalationWorkflow


class Escalations(ClientBase):
    async def open_escalation(self, subject: Subject | str, source: EscalationSource | str,
                              reason: str, severity: Priority | str,
                              opened_by: str | None = None, review_case_id: str | None = None,
                              owner: str | None = None, request_id: str | None = None
                              ) -> EscalationSummary:
        """Open an escalation (from outside, or about a review case); the same subject, source
        and request id (by default derived from the reason) open it once."""
        subj = Subject.parse(subject) if isinstance(subject, str) else subject
        src = parse_choice(EscalationSource, source, "source")
        if src.from_a_case and review_case_id is None:
            raise InvalidInput(f"a {src.value} escalation is opened from its review case")
        req = build(OpenRequest, subject=subj, source=src, reason=reason,
                    severity=parse_choice(Priority, severity, "severity"),
                    opened_by=opened_by or src.value, review_case_id=review_case_id,
                    owner=owner, request_id=request_id or open_request_id(reason, review_case_id))
        prefix = self.settings.case_prefix
        return await self.guard(open_escalation(self.temporal, req, self.settings.task_queue,
                                                prefix), escalation_id_for(prefix, req))

    async def show_escalation(self, escalation_id: str) -> EscalationState:
        return await self.ask(escalation_id, EscalationWorkflow.snapshot)  # type: ignore[no-any-return]

    async def acknowledge_escalation(self, escalation_id: str, owner: str,
                                     request_id: str | None = None) -> EscalationSummary:
        return await self.run(COMMANDS["ack"], escalation_id, owner, {}, request_id)

    async def note_escalation(self, escalation_id: str, owner: str, text: str,
                              request_id: str | None = None) -> EscalationSummary:
        return await self.run(COMMANDS["note"], escalation_id, owner, {"text": text},
                              request_id)

    async def set_escalation_severity(self, escalation_id: str, owner: str,
                                      severity: Priority | str, reason: str,
                                      request_id: str | None = None) -> EscalationSummary:
        return await self.run(COMMANDS["severity"], escalation_id, owner, {
            "severity": parse_choice(Priority, severity, "severity"), "reason": reason},
            request_id)

    async def resolve_escalation(self, escalation_id: str, owner: str, reason: str,
                                 actions: Sequence[str] = (), policy_ids: Sequence[str] = (),
                                 request_id: str | None = None) -> EscalationSummary:
        """Resolve with the decision the review case carries out (none: back to its queue)."""
        return await self.run(COMMANDS["resolve"], escalation_id, owner, {
            "reason": reason, "actions": parse_actions(actions),
            "policy_ids": list(policy_ids)}, request_id)

    async def hand_off_escalation(self, escalation_id: str, owner: str,
                                  to: HandOffTo | str, reason: str,
                                  request_id: str | None = None) -> EscalationSummary:
        return await self.run(COMMANDS["handoff"], escalation_id, owner, {
            "to": parse_choice(HandOffTo, to, "hand-off"), "reason": reason}, request_id)

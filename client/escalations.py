"""Escalations through the client: sensitive matters opened from outside or from a review case,
worked by their owners."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from activities.escalation import escalation_id_for, open_escalation, open_request_id
from client.base import ClientBase, parse_actions, parse_choice
from domain.core import Priority, Subject
from domain.errors import InvalidInput, build
from domain.escalation.models import (
    AckRequest,
    EscalationSource,
    EscalationState,
    EscalationSummary,
    HandOffRequest,
    HandOffTo,
    NoteRequest,
    OpenRequest,
    OwnerCommand,
    ResolveRequest,
    SeverityRequest,
)
from domain.people import Role
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
        return await self._owner(escalation_id, EscalationWorkflow.acknowledge,
                                 build(AckRequest, owner=owner), request_id)

    async def note_escalation(self, escalation_id: str, owner: str, text: str,
                              request_id: str | None = None) -> EscalationSummary:
        return await self._owner(escalation_id, EscalationWorkflow.add_note,
                                 build(NoteRequest, owner=owner, text=text), request_id)

    async def set_escalation_severity(self, escalation_id: str, owner: str,
                                      severity: Priority | str, reason: str,
                                      request_id: str | None = None) -> EscalationSummary:
        req = build(SeverityRequest, owner=owner, reason=reason,
                    severity=parse_choice(Priority, severity, "severity"))
        return await self._owner(escalation_id, EscalationWorkflow.change_severity, req,
                                 request_id)

    async def resolve_escalation(self, escalation_id: str, owner: str, reason: str,
                                 actions: Sequence[str] = (), policy_ids: Sequence[str] = (),
                                 request_id: str | None = None) -> EscalationSummary:
        """Resolve with the decision the review case carries out (none: back to its queue)."""
        self.known_policies(policy_ids)
        req = build(ResolveRequest, owner=owner, reason=reason, actions=parse_actions(actions),
                    policy_ids=list(policy_ids))
        return await self._owner(escalation_id, EscalationWorkflow.resolve, req, request_id)

    async def hand_off_escalation(self, escalation_id: str, owner: str,
                                  to: HandOffTo | str, reason: str,
                                  request_id: str | None = None) -> EscalationSummary:
        req = build(HandOffRequest, owner=owner, reason=reason,
                    to=parse_choice(HandOffTo, to, "hand-off"))
        return await self._owner(escalation_id, EscalationWorkflow.hand_off, req, request_id)

    async def _owner(self, escalation_id: str, update: Any, req: OwnerCommand,
                     request_id: str | None) -> EscalationSummary:
        """Escalation owners act on escalations (the workflow checks who owns which one)."""
        found = await self.on_record(escalation_id, req.owner, "escalation",
                                         Role.ESCALATION_OWNER, in_queue=False)
        return await self.command(escalation_id, update, req, found, request_id)

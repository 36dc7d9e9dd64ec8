"""The escalation's commands, one line each (see `domain.commands`): its owner's, wherever
its queue."""

from __future__ import annotations

from functools import partial

from domain.commands import CommandSpec, table
from domain.escalation.models import (
    AckRequest,
    EscalationSummary,
    HandOffRequest,
    NoteRequest,
    ResolveRequest,
    SeverityRequest,
)
from domain.people import Role

_owner = partial(CommandSpec, roles=Role.ESCALATION_OWNER, any_queue=True,
                 answer=EscalationSummary)

ESCALATION_COMMANDS = table(
    "escalation",
    _owner("ack", AckRequest, "acknowledge", help="acknowledge it (and own it, unless assigned)",
           path="acknowledgement", update="acknowledge"),
    _owner("note", NoteRequest, "note", help="add a note (the first starts the investigation)",
           path="notes", update="add_note"),
    _owner("severity", SeverityRequest, "change_severity", help="change its severity",
           path="severity", update="change_severity"),
    _owner("resolve", ResolveRequest, "resolve",
           help="resolve it, handing a decision back to its review case", path="resolution"),
    _owner("handoff", HandOffRequest, "hand_off", help="hand it off outside casework",
           path="hand-off", update="hand_off"),
)

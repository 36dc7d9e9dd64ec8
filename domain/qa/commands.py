"""The QA check's commands, one line each (see `domain.commands`): a blind check is claimed and
decided by a QA reviewer or a senior, never by who made or approved the decision; a
disagreement is adjudicated by a senior who is neither party."""

from __future__ import annotations

from domain.authority import ClaimRequest
from domain.commands import CommandSpec, table
from domain.people import Role
from domain.qa.models import AdjudicateRequest, QaDecideRequest

CHECKERS = frozenset({Role.QA, Role.SENIOR})

QA_COMMANDS = table(
    "qa",
    CommandSpec("claim", ClaimRequest, "claim", CHECKERS, "claim a QA check (blind)",
                "claim", any_queue=True, update="claim_check"),
    CommandSpec("decide", QaDecideRequest, "decide", CHECKERS,
                "give your own verdict on the checked decision, blind", "verdict",
                any_queue=True, update="decide_check"),
    CommandSpec("adjudicate", AdjudicateRequest, "adjudicate", Role.SENIOR,
                "give the final word on a disagreement (neither party)", "adjudication",
                any_queue=True),
)

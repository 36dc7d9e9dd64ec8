"""People and roles: who may act, and the one rule that says why someone may not.

The directory itself lives in the ledger; `client.directory.Directory` reads it and applies
`why_not` before any command reaches a case. Roles are not ranked: a person holds each role
they use (a lead who also reviews holds `lead` and `reviewer`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

from pydantic import AwareDatetime, Field, field_validator

from domain.core import Model
from domain.errors import parse_members
from domain.text import Ident


class Role(StrEnum):
    REVIEWER = "reviewer"
    SENIOR = "senior"
    APPEALS = "appeals"
    QA = "qa"  # blind second reviews of decisions (seniors may give them too)
    ESCALATION_OWNER = "escalation_owner"
    OPS = "ops"
    LEAD = "lead"
    ADMIN = "admin"


ALL_QUEUES = "*"


class Person(Model):
    """One person of the directory. `queues` are the queues they work (`*`: every queue);
    `name` follows the id rules (1-200 characters, no control or bidirectional characters)."""

    id: Ident
    name: Ident
    roles: list[Role] = Field(min_length=1)
    queues: list[Ident] = Field(default_factory=list)
    active: bool = True
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None

    @field_validator("roles")
    @classmethod
    def _roles_once_in_order(cls, v: list[Role]) -> list[Role]:
        return [r for r in Role if r in v]

    @field_validator("queues")
    @classmethod
    def _queues_once_sorted(cls, v: list[str]) -> list[str]:
        return sorted(set(v))

    def works(self, queue: str) -> bool:
        return ALL_QUEUES in self.queues or queue in self.queues


def why_not(person_id: str, person: Person | None, role: Role | Iterable[Role],
            queue: str | None = None) -> str | None:
    """Why `person_id` (found as `person`, or None) may not act in `role` (or any of several
    roles) on `queue`; None when they may. One line that names the person and what they lack."""
    if person is None:
        return unknown(person_id)
    if not person.active:
        return f"{person_id!r} is disabled in the directory"
    roles = [role] if isinstance(role, Role) else sorted(role)
    if not set(roles) & set(person.roles):
        return f"{person_id!r} lacks the {' or '.join(r.value for r in roles)} role"
    if queue is not None and not person.works(queue):
        return f"{person_id!r} is not in queue {queue!r}"
    return None


def unknown(person_id: str) -> str:
    return f"unknown person {person_id!r}: not in the directory"


def parse_roles(names: Sequence[str | Role]) -> list[Role]:
    return parse_members(Role, names, "role")

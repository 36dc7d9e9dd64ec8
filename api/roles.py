"""Who reads what beyond their own queues (the directory's roles decide every call)."""

from __future__ import annotations

from domain.people import Person, Role

OVERSEERS = frozenset({Role.LEAD, Role.OPS, Role.ADMIN, Role.SENIOR})  # read every queue
ESCALATION_READERS = frozenset({Role.ESCALATION_OWNER, Role.LEAD, Role.OPS, Role.ADMIN})
OPS_READERS = frozenset({Role.OPS, Role.LEAD, Role.ADMIN})


def has(person: Person | None, roles: frozenset[Role]) -> bool:
    return person is not None and bool(roles & set(person.roles))


def reads_queue(person: Person, queue: str) -> bool:
    return has(person, OVERSEERS) or person.works(queue)

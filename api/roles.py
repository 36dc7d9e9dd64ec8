"""Who reads what beyond their own queues (the directory's roles decide every call), and which
lifecycle an id names before its workflow is asked."""

from __future__ import annotations

from collections.abc import Iterable

from client.casework import CaseworkClient
from domain.appeal.models import APPEALS_QUEUE
from domain.errors import NotFound
from domain.escalation.models import QUEUE as ESCALATIONS_QUEUE
from domain.people import Person, Role

OVERSEERS = frozenset({Role.LEAD, Role.OPS, Role.ADMIN, Role.SENIOR})  # read every queue
ESCALATION_READERS = frozenset({Role.ESCALATION_OWNER, Role.LEAD, Role.OPS, Role.ADMIN})
OPS_READERS = frozenset({Role.OPS, Role.LEAD, Role.ADMIN})


def has(person: Person | None, roles: frozenset[Role]) -> bool:
    return person is not None and bool(roles & set(person.roles))


def reads_queue(person: Person, queue: str) -> bool:
    """Appeals are read by the appeals team, escalations by their readers (sensitive matters),
    every other queue by those who work it; overseers read all but escalations."""
    if queue == ESCALATIONS_QUEUE:
        return has(person, ESCALATION_READERS)
    if queue == APPEALS_QUEUE and Role.APPEALS not in person.roles:
        return has(person, OVERSEERS)
    return has(person, OVERSEERS) or person.works(queue)


def readable_queues(person: Person, queues: Iterable[str]) -> list[str]:
    return [q for q in queues if reads_queue(person, q)]


async def of_kind(cw: CaseworkClient, record_id: str, lifecycle: str) -> None:
    """Refuse an id the ledger knows as a record of another lifecycle (its workflow would not
    answer this lifecycle's query); an id not yet in the ledger is asked as it is."""
    row = await cw.row(record_id)
    if row is not None and row.lifecycle != lifecycle:
        raise NotFound(f"no {lifecycle.replace('_', ' ')} {record_id}")

"""The directory of people as the client uses it: every surface that acts for a person asks
`require` before it sends anything to Temporal, and the `casework reviewer` commands manage it.

Refusals are consistent: acting as someone unknown, disabled, without the role or outside the
queue is `Refused` (an authorisation failure, exit 3), so a refused person never reads as a
missing case; managing a person the directory does not hold (`disable`) is `NotFound`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from cachetools import TTLCache

from domain.authority import why_not_name
from domain.errors import InvalidInput, NotFound, Refused, build
from domain.people import ALL_QUEUES, Person, Role, parse_roles, unknown, why_not
from ledger.store import Ledger

PERSON_TTL_S = 1.0  # how long a person read answers "who is asking" (a command reads afresh)
_UNREAD = object()


class Directory:
    """`check_queue` raises InvalidInput for a queue casework does not know.

    A person read is kept for PERSON_TTL_S for the first check of who asks; the person a command
    carries to the workflow is read afresh (`fresh`), so a role or queue taken away in any
    process holds for the next command. Used from the event loop's thread only."""

    def __init__(self, ledger: Ledger, check_queue: Callable[[str], None]) -> None:
        self._ledger = ledger
        self._check_queue = check_queue
        self._recent: TTLCache[str, Person | None] = TTLCache(maxsize=4096, ttl=PERSON_TTL_S)

    def person(self, person_id: str, fresh: bool = False) -> Person | None:
        """As read within PERSON_TTL_S, or `fresh` from the ledger."""
        person = None if fresh else self._recent.get(person_id, _UNREAD)
        if person is _UNREAD or fresh:
            person = self._recent[person_id] = self._ledger.person(person_id)
        return person  # type: ignore[return-value]

    def require(self, person_id: str, role: Role | Iterable[Role],
                queue: str | None = None, fresh: bool = False) -> Person:
        """The active person `person_id` holding `role` (or one of several), and working
        `queue` if given; or Refused with the reason in one line. `fresh`: read now (the
        person a command carries, sealed for the workflow to check)."""
        person = self.person(person_id, fresh)
        if reason := why_not(person_id, person, role, queue):
            raise Refused(reason)
        assert person is not None
        return person

    def people(self) -> list[Person]:
        return self._ledger.people()

    def add(self, person_id: str, name: str, roles: Sequence[str | Role],
            queues: Sequence[str] = ()) -> Person:
        """Add a person, or update one (re-adding a disabled person makes them active)."""
        if reason := why_not_name(person_id):
            raise InvalidInput(reason)
        for queue in queues:
            if queue != ALL_QUEUES:
                self._check_queue(queue)
        person = build(Person, id=person_id, name=name, roles=parse_roles(roles),
                       queues=list(queues))
        try:
            return self._ledger.put_person(person)
        finally:
            self._recent.pop(person_id, None)

    def disable(self, person_id: str) -> Person:
        """Disable a person (idempotent): they may no longer act, their sessions and tokens end
        (and stay ended if they are made active again); their record stays."""
        person = self._ledger.disable_person(person_id)
        self._recent.pop(person_id, None)
        if person is None:
            raise NotFound(unknown(person_id))
        return person

"""Who may act, and who may be a matter's second person: casework's rules of trust, once.

Every path that starts an action applies these rules: the client and the API before they send a
command (an early refusal that names the reason), and the workflow's Update validator, which
refuses whatever reaches it that they should have refused. A command is a `Command`: it names its
person in one field, carries that person as the authenticating process read them from the
directory (`acting`), and is `sealed` only when its payload arrived encrypted under a current
casework key (the data converter says so; the keys are the capability to command).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import ClassVar

from pydantic import AwareDatetime, Field

from domain.core import Action, Actor, Model, Sealable, Source
from domain.people import Person, Role, why_not
from domain.qa.config import QA_QUEUE
from domain.text import Ident

FRESH_START = timedelta(minutes=5)  # a job's or review's request is started within this
START_SKEW = timedelta(minutes=1)  # clocks of the caller and of Temporal may differ by this
SPLIT_WINDOW_HOURS = 24  # a requester's jobs within this window count together
JOB_STARTERS = frozenset({Role.SENIOR, Role.LEAD})  # who may start bulk work
APPROVERS = frozenset({Role.SENIOR})  # who may be a severe or bulk action's second person

# Names casework itself acts under (timelines, requesters of automatic work): no person of the
# directory may take one and act as the machine.
SYSTEM_NAMES = frozenset({*(a.value for a in Actor), *(s.value for s in Source), "ops",
                          "strike-threshold", "press", "regulator", "legal", "reviewer", "sla",
                          "casework", "system"})


class Acting(Model):
    """The person behind a command, as the process that authenticated them (the API, the
    console, a trusted client) read them from the directory at `as_of`, and the one record the
    command is for (a case's `case_uid`; a job's id before it starts): a sealed command copied
    from one record's history does not act on another, nor on a later case under the same id."""

    person: Person
    as_of: AwareDatetime
    record: str
    nonce: str = ""  # once per command: a record takes each nonce once (a copy is refused)


class Command(Sealable):
    """A person's command to a record. `PERSON` names the field that says who acts."""

    PERSON: ClassVar[str] = "reviewer"
    acting: Acting | None = None

    @property
    def person(self) -> str:
        return str(getattr(self, self.PERSON))

    def as_person(self, person: Person, record: str, now: datetime, nonce: str) -> Command:
        """This command, for `record`, carrying `person` as read from the directory now, under
        a `nonce` of its own."""
        self.acting = Acting(person=person, as_of=now, record=record, nonce=nonce)
        return self


def unsealed() -> str:
    return ("refused: the command was not encrypted with a current casework key (commands "
            "reach casework through its API, console or client)")


def why_not_sealed(message: Sealable) -> str | None:
    """Any message a workflow takes (a report, a hand-back) arrives sealed, or not at all."""
    return None if message.sealed else unsealed()


def why_not_command(req: Command, roles: Role | Iterable[Role], queue: str | None,
                    record: str, taken: Collection[str] = ()) -> str | None:
    """Why a workflow (record `record`, having taken the commands whose nonces are `taken`)
    refuses `req`: not sealed, sent without its person, by someone else, for another record,
    taken already (a copy from the record's history), or by a person who is unknown, disabled,
    lacks the role or works elsewhere. None: it may go on to the lifecycle's own rules."""
    if not req.sealed:
        return unsealed()
    acting = req.acting
    if acting is None:
        return f"the command names {req.person!r} but no authenticated person sent it"
    if acting.person.id != req.person:
        return f"the command names {req.person!r} but {acting.person.id!r} sent it"
    if acting.record != record:
        return "the command was sent for another record (or an earlier case under this id)"
    if not acting.nonce or acting.nonce in taken:
        return "this command was carried out already (or carries no nonce): send it anew"
    return why_not(req.person, acting.person, roles, queue)


class ClaimRequest(Command):
    reviewer: Ident
    lease_minutes: int = Field(default=30, ge=1, le=8 * 60)


def why_not_fresh(issued_at: datetime | None, started_at: datetime) -> str | None:
    """Why a start is refused as a copy: its request was issued well before the start (a sealed
    input replayed from an old history), or says nothing of when it was issued."""
    if issued_at is None:
        return "the request does not say when it was issued"
    if not -START_SKEW <= started_at - issued_at <= FRESH_START:
        return (f"the request was issued at {issued_at:%Y-%m-%dT%H:%M:%SZ}, not when this "
                f"start came ({started_at:%Y-%m-%dT%H:%M:%SZ}): a copy starts nothing")
    return None


def why_not_name(person_id: str) -> str | None:
    """A person may not be named like casework itself (their acts would read as the machine's)."""
    if person_id.lower() in SYSTEM_NAMES:
        return f"{person_id!r} is a name casework acts under: choose another id"
    return None


def worker_role(queue: str, appeals_queue: str = "appeals") -> Role:
    """Who works a queue: appeals are for the appeals role, every other queue for reviewers."""
    return Role.APPEALS if queue == appeals_queue else Role.REVIEWER


def claim_rule(queue: str) -> tuple[Role | frozenset[Role], str | None]:
    """Who may hold a record of `queue`, and the queue they must work (None: any): QA checks
    are held by QA reviewers or seniors, whatever queues they work."""
    if queue == QA_QUEUE:
        return frozenset({Role.QA, Role.SENIOR}), None
    return worker_role(queue), queue


# -- four eyes -----------------------------------------------------------------------------------


def approval_needed(actions: Sequence[Action], *, items: int = 1, recent_items: int = 0,
                    threshold: int | None = None, authority: str | None = None,
                    known_authorities: Iterable[str] = ()) -> str | None:
    """Why a second person must approve before anything executes, or None.

    Severe actions always wait, and so does an authority's order when the pack does not know the
    authority (one it knows executes at once, DSA Art. 9). Any job waits above the pack's
    threshold, orders too, counting the requester's other jobs in the split window with it (a
    job split in parts waits like the whole)."""
    if severe := [a.value for a in actions if a.severe]:
        return f"{', '.join(severe)} is a severe action"
    if authority is not None and authority not in set(known_authorities):
        return f"the order comes from {authority!r}, an authority the pack does not list"
    if threshold is not None and items + recent_items > threshold:
        mine = (f" ({recent_items} more of the requester's in the last {SPLIT_WINDOW_HOURS} h "
                "count with them)" if recent_items else "")
        return f"{items} item(s){mine} exceed the threshold of {threshold}"
    return None


def why_not_second(person_id: str, parties: Mapping[str, Sequence[str | None]]
                   ) -> str | None:
    """Why `person_id` may not be the matter's second person: they already took part in it
    (`{"decided": [...], "asked for": [...], "approved": [...]}`). None: they may."""
    for part, people in parties.items():
        if person_id in people:
            return (f"{person_id} {part} this: a second person, who neither decided, asked "
                    "for nor approved it, must act")
    return None

"""What every part of the casework client shares: its connections (Temporal, the ledger), the
directory and the pack, and the one way a person's command reaches a record.

A command goes through `on_record` and `command`: the record's kind and queue come from its
ledger row (one indexed read; the workflow's `summary` query only when the ledger has no row
yet), the person is checked against the directory for the role that queue needs, and the command
carries that person as read (`domain.authority.Acting`) so the workflow's validator applies the
same rule again. Every refusal surfaces as a typed `domain.errors` exception and changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any, NamedTuple, TypeVar

from cachetools import TTLCache
from pydantic import ValidationError
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from client.directory import Directory
from config.pack_file import PackFile
from config.settings import Settings
from domain.authority import Command, claim_rule
from domain.commands import CommandSpec
from domain.core import Action, CaseSummary, Sealable
from domain.errors import (
    BY_NAME,
    CaseworkError,
    Closed,
    InvalidInput,
    NotFound,
    Refused,
    Unavailable,
    build,
    parse_members,
)
from domain.people import Person, Role
from domain.policy import PolicyPack
from ledger.store import Ledger

T = TypeVar("T")
WORKERS = frozenset({Role.REVIEWER, Role.APPEALS})  # who works queues
NOUNS = {"review": "review case", "appeal": "appeal", "escalation": "escalation",
         "takedown": "takedown job", "shop_review": "shop review"}


def parse_actions(names: Sequence[str | Action]) -> list[Action]:
    return parse_members(Action, names, "action")


def parse_choice(kind: type[Any], value: Any, what: str) -> Any:
    """`value` as a member of the StrEnum `kind`, or InvalidInput naming the known ones."""
    try:
        return kind(value)
    except ValueError:
        known = "|".join(k.value for k in kind)
        raise InvalidInput(f"unknown {what} {value!r}; known: {known}") from None


class Found(NamedTuple):
    """Who may act on a record, and the record as the ledger (or the workflow) names it."""

    person: Person
    lifecycle: str
    queue: str
    uid: str  # the record's case_uid: a command is sealed for it alone


RECORD_TTL_S = 5.0  # a record's lifecycle, queue and uid change at most when its id is reused


class RecordFacts(NamedTuple):
    lifecycle: str
    queue: str
    uid: str
    held_for: str | None  # whose calibration copy it is


def update_id(name: str, request_id: str | None) -> str:
    """The Update id of a command: derived from the caller's request id (an Idempotency-Key),
    so the same command sent again answers its first outcome; else a fresh one."""
    if request_id is None:
        return f"{name}-{uuid.uuid4()}"
    return f"{name}-{hashlib.sha256(request_id.encode()).hexdigest()[:32]}"


async def until(read: Callable[[], Awaitable[T]], done: Callable[[T], bool],
                wait_s: float = 10) -> T:
    """`read()` again every 0.1 s until `done` holds or `wait_s` have passed: its last answer."""
    deadline = asyncio.get_running_loop().time() + wait_s
    value = await read()
    while not done(value) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.1)
        value = await read()
    return value


class ClientBase:
    # Every call to Temporal is bounded: a read answers from a worker's cache, a command waits
    # for one workflow task. Past these the caller gets Unavailable, never a hang.
    read_timeout = timedelta(seconds=5)
    command_timeout = timedelta(seconds=15)

    def __init__(self, client: Client | None, settings: Settings | None = None) -> None:
        """`client` may be None for ledger-only reads (queue, statements)."""
        self._temporal = client
        self.settings = settings or Settings()
        self._ledger: Ledger | None = None
        self._pack = PackFile(self.settings.policy_pack)
        self._records: TTLCache[str, RecordFacts] = TTLCache(maxsize=4096, ttl=RECORD_TTL_S)

    @property
    def temporal(self) -> Client:
        if self._temporal is None:
            raise Unavailable("this client was made without a Temporal connection")
        return self._temporal

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger(self.settings.ledger_url)
        return self._ledger

    @cached_property
    def directory(self) -> Directory:
        """The people who may act: every command for a person asks it before anything is
        sent to Temporal."""
        return Directory(self.ledger, self.known_queue)

    def pack(self) -> PolicyPack:
        return self._pack.get()

    def known_queue(self, queue: str | None) -> None:
        queues = self.pack().queues
        if queue is not None and queue not in queues:
            raise InvalidInput(f"unknown queue {queue!r}; known: {', '.join(sorted(queues))}")

    def known_policies(self, policy_ids: Sequence[str]) -> None:
        if unknown := [p for p in policy_ids if p not in self.pack().by_id]:
            raise InvalidInput(f"unknown policy id(s) {', '.join(unknown)}")

    async def ask(self, record_id: str, query: Any) -> Any:
        """A record's answer to one of its workflow's queries (a query method)."""
        return await self.guard(self.temporal.get_workflow_handle(record_id).query(
            query, rpc_timeout=self.read_timeout), record_id)

    # -- the command path ----------------------------------------------------------------------
    async def on_record(self, record_id: str, person_id: str, kind: str | tuple[str, ...],
                        role: Role | frozenset[Role] | None = None,
                        in_queue: bool = True) -> Found:
        """The active person who may act on record `record_id` of lifecycle `kind` (or one of
        several), with the record's lifecycle and queue. Who they are is checked first (a
        refused person learns nothing of the record); then the record's kind, and the role its
        queue needs (`role`, or the queue's worker role), in that queue unless `in_queue` is
        False."""
        self.directory.require(person_id, role or WORKERS)
        lifecycle, queue, uid, held = await self._record_facts(record_id)
        kinds = (kind,) if isinstance(kind, str) else kind
        held_for = held if role != Role.OPS else None
        if lifecycle not in kinds or held_for not in (None, person_id):  # another's copy
            raise NotFound(f"no {' or '.join(NOUNS.get(k, k) for k in kinds)} {record_id}")
        holds, its_queue = claim_rule(queue)
        person = self.directory.require(person_id, role or holds,
                                        (queue if role else its_queue) if in_queue else None,
                                        fresh=True)
        return Found(person, lifecycle, queue, uid)

    async def _record_facts(self, record_id: str) -> RecordFacts:
        """A record's lifecycle, queue, uid and calibration holder, from its ledger row (kept
        for RECORD_TTL_S: a command sent again soon reads nothing), or its workflow's `row`
        query before screening has written one."""
        if (facts := self._records.get(record_id)) is not None:
            return facts
        row: Any = self.ledger.case(record_id)
        routed = row is not None  # (before screening, the workflow's answer is not kept)
        if not routed:
            row = await self.guard(self.temporal.get_workflow_handle(record_id).query(
                "row", result_type=CaseSummary, rpc_timeout=self.read_timeout), record_id)
        facts = RecordFacts(row.lifecycle, row.queue, row.case_uid,
                            self.ledger.calibration_reviewer(record_id))
        if routed:
            self._records[record_id] = facts
        return facts

    async def command(self, record_id: str, update: Any, req: Sealable, found: Found | None,
                      request_id: str | None = None, result_type: type | None = None) -> Any:
        """Send `req` to the record's `update` (a handler, or a name that answers
        `result_type`): a person's command carries them as `found` (read from the directory
        now) and the record's uid; a service's message (a report, an appeal) names nobody."""
        if isinstance(req, Command) and found is not None:
            req.as_person(found.person, found.uid, datetime.now(UTC), uuid.uuid4().hex)
        name = update if isinstance(update, str) else update.__name__
        return await self.guard(self.temporal.get_workflow_handle(record_id).execute_update(
            update, req, id=update_id(name, request_id), rpc_timeout=self.command_timeout,
            result_type=result_type), record_id)

    async def run(self, spec: CommandSpec, record_id: str, person: str,
                  body: dict[str, Any] | None = None, request_id: str | None = None) -> Any:
        """Any command of a lifecycle's table, as `person`: the request built under the intake
        rules, one directory check with the record's row, then its Update."""
        req = build(spec.model, **spec.request(person, body or {}))
        self.known_policies(getattr(req, "policy_ids", []))  # the pack's, before the record's
        found = await self.on_record(record_id, person, spec.lifecycle, spec.roles,
                                     in_queue=not spec.any_queue)
        return await self.command(record_id, spec.update_name, req, found, request_id,
                                  result_type=spec.answer)

    async def guard(self, call: Any, record_id: str) -> Any:
        """Temporal's answers as casework's typed errors, in one line that names no internals."""
        try:
            return await call
        except WorkflowUpdateFailedError as e:
            raise _from_failure(e.cause) from None
        except ValidationError:  # the id names a record of another lifecycle
            raise NotFound(f"no record {record_id} of this kind") from None
        except (WorkflowQueryFailedError, WorkflowQueryRejectedError) as e:
            if "not found" in str(e).lower():  # a query the record's lifecycle does not answer
                raise NotFound(f"no record {record_id} of this kind") from None
            raise Unavailable(f"{record_id} cannot answer now (its workflow task may be "
                              "failing): see casework ops explain") from None
        except RPCTimeoutOrCancelledError:
            raise Unavailable(f"{record_id} did not answer in time: is a casework worker "
                              "running? (a command sent again with the same "
                              "Idempotency-Key is safe)") from None
        except RPCError as e:
            if e.status is RPCStatusCode.NOT_FOUND:
                if "completed" in e.message:
                    raise Closed(f"{record_id} is closed") from None
                raise NotFound(f"no case, appeal, escalation, job or review {record_id}"
                               ) from None
            if e.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                raise Unavailable("Temporal is unavailable: try again") from None
            if e.status is RPCStatusCode.FAILED_PRECONDITION:  # e.g. a server just restarted
                raise Unavailable(f"{record_id} cannot take commands this moment (Temporal: "
                                  f"{e.message.splitlines()[0] if e.message else 'not ready'}); "
                                  "a command sent again with the same Idempotency-Key is "
                                  "safe") from None
            if e.status is RPCStatusCode.CANCELLED:  # our own deadline passed
                raise Unavailable(f"{record_id} did not answer in time: is a casework "
                                  "worker running?") from None
            raise Refused(f"Temporal refused the command ({e.status.name.lower()})") from None


def _from_failure(cause: BaseException | None) -> CaseworkError:
    err_type = getattr(cause, "type", None)
    message = getattr(cause, "message", None) or str(cause)
    cls = BY_NAME.get(err_type or "", Refused)
    if cls is Refused and err_type not in BY_NAME:  # the SDK's own refusal lists handlers
        return Refused("this record takes no such command" if "handler" in message.lower()
                       else message.splitlines()[0])
    return cls(message)

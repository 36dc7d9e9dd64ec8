"""People and roles: the one rule, and the client refusing a person before a case changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from client.casework import CaseworkClient
from config.settings import Settings
from domain.errors import InvalidInput, NotFound, Refused
from domain.people import Person, Role, parse_roles, why_not
from tests.helpers import eventually, settled_in

REVIEWER = Person(id="ann", name="Ann", roles=[Role.REVIEWER], queues=["ip"])


@pytest.mark.parametrize(("person", "role", "queue", "reason"), [
    (REVIEWER, Role.REVIEWER, "ip", None),
    (REVIEWER, Role.REVIEWER, None, None),
    (REVIEWER.model_copy(update={"queues": ["*"]}), Role.REVIEWER, "hate", None),
    (None, Role.REVIEWER, "ip", "unknown person 'ann': not in the directory"),
    (REVIEWER.model_copy(update={"active": False}), Role.REVIEWER, "ip",
     "'ann' is disabled in the directory"),
    (REVIEWER, Role.OPS, None, "'ann' lacks the ops role"),
    (REVIEWER, Role.REVIEWER, "hate", "'ann' is not in queue 'hate'"),
])
def test_why_a_person_may_not_act(person: Person | None, role: Role, queue: str | None,
                                  reason: str | None) -> None:
    assert why_not("ann", person, role, queue) == reason


def test_roles_and_queues_are_kept_once_in_order() -> None:
    p = Person(id="b", name="B", roles=["lead", "reviewer", "lead"], queues=["ip", "fraud", "ip"])
    assert (p.roles, p.queues) == ([Role.REVIEWER, Role.LEAD], ["fraud", "ip"])
    assert parse_roles(["ops", Role.ADMIN]) == [Role.OPS, Role.ADMIN]
    with pytest.raises(InvalidInput, match="unknown role.s. boss; known: reviewer, senior, "
                                           "appeals, qa, escalation_owner, ops, lead, admin"):
        parse_roles(["ops", "boss"])


def people(c: CaseworkClient) -> None:
    """One of each kind of refusal: outside the queue, without the role, disabled."""
    c.directory.add("hana", "Hana", ["reviewer"], ["hate"])
    c.directory.add("olga", "Olga", ["ops"])
    c.directory.add("dora", "Dora", ["reviewer"], ["*"])
    c.directory.disable("dora")


async def test_who_is_refused_before_anything_reaches_temporal(settings: Settings) -> None:
    """A client without a Temporal connection refuses the person, not the connection."""
    c = CaseworkClient(None, settings)
    people(c)
    calls: list[tuple[Callable[[], Awaitable[Any]], str]] = [
        (lambda: c.claim("case-listing-L-0001", "nobody-x"), "unknown person 'nobody-x'"),
        (lambda: c.claim("case-listing-L-0001", "dora"), "'dora' is disabled"),
        (lambda: c.claim("case-listing-L-0001", "olga"), "'olga' lacks the appeals or reviewer role"),
        (lambda: c.claim_next("ip", "hana"), "'hana' is not in queue 'ip'"),
        (lambda: c.decide("case-listing-L-0001", "olga", [], ["no_action"], "x"),
         "'olga' lacks the reviewer role"),
        (lambda: c.retry("case-listing-L-0001", "alice", "x"), "'alice' lacks the ops role"),
    ]
    for call, reason in calls:
        with pytest.raises(Refused, match=reason):
            await call()


async def test_refused_people_change_nothing_in_the_case(dev: CaseworkClient) -> None:
    people(dev)
    ref = await dev.open_case("listing:L-0001", "user_report", reporter="buyer-9")  # queue ip
    await eventually(lambda: dev.show(ref.case_id), settled_in("queued"))
    handle = dev.temporal.get_workflow_handle(ref.case_id)

    async def unchanged(calls: list[tuple[Callable[[], Awaitable[Any]], str]]) -> None:
        before = (await dev.show(ref.case_id), len((await handle.fetch_history()).events))
        for call, reason in calls:
            with pytest.raises(Refused, match=reason):
                await call()
        after = (await dev.show(ref.case_id), len((await handle.fetch_history()).events))
        assert after == before

    await unchanged([
        (lambda: dev.claim(ref.case_id, "nobody-x"), "unknown person 'nobody-x'"),
        (lambda: dev.claim(ref.case_id, "dora"), "'dora' is disabled"),
        (lambda: dev.claim(ref.case_id, "olga"), "'olga' lacks the appeals or reviewer role"),
        (lambda: dev.claim(ref.case_id, "hana"), "'hana' is not in queue 'ip'"),
        (lambda: dev.claim_next("ip", "hana"), "'hana' is not in queue 'ip'"),
    ])
    await dev.claim(ref.case_id, "alice")
    dev.directory.add("alice", "Alice", ["reviewer"], ["fraud"])  # moved off ip since
    await unchanged([
        (lambda w=who: dev.decide(ref.case_id, w, ["counterfeit"], ["remove"], "replica"), reason)
        for who, reason in (("nobody-x", "unknown person 'nobody-x'"),
                            ("dora", "'dora' is disabled"),
                            ("olga", "'olga' lacks the reviewer role"),
                            ("alice", "'alice' is not in queue 'ip'"))
    ] + [(lambda: dev.retry(ref.case_id, "alice", "x"), "'alice' lacks the ops role")])
    case = await dev.show(ref.case_id)
    assert (case.state, case.assignee, case.decision) == ("in_review", "alice", None)


async def test_without_a_ledger_row_the_queue_comes_from_the_case(dev: CaseworkClient) -> None:
    people(dev)
    ref = await dev.open_case("listing:L-0001", "user_report", reporter="buyer-9")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    dev.ledger.clear_derived()  # a ledger being rebuilt
    with pytest.raises(Refused, match="'hana' is not in queue 'ip'"):
        await dev.claim(ref.case_id, "hana")
    with pytest.raises(NotFound, match="no case"):
        await dev.claim(f"{dev.settings.case_prefix}-listing-NOPE", "alice")
    assert (await dev.claim(ref.case_id, "alice")).assignee == "alice"

"""Many processes on one PostgreSQL ledger and one Temporal namespace: 3 `casework worker` and 2
`casework api` processes (each started through the CLI, on a new database whose schema they bring
up together) open and decide 300 cases over HTTP, spread across both API processes, while one
worker is SIGKILLed. Nothing is lost, nothing acted on twice, each restriction has one statement
of reasons and one seller notice; Idempotency-Keys, sessions, sign-in limits and the trend
Schedule hold across the API processes."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from api.signin import ATTEMPTS
from bench.harness import (
    Fleet,
    HttpLoad,
    Sent,
    api_token,
    load_listings,
    pack_with,
    sign_in,
)
from client.casework import CaseworkClient
from client.credentials import Credentials
from client.directory import PERSON_TTL_S
from config.settings import Settings
from domain.core import Action
from domain.messages import MessageKind
from domain.people import Person, Role
from ledger.schema import VERSION_TABLE, head
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import seed_directory
from tests.test_e2e_cli import cli_env

N = 300
REVIEWERS = [f"reviewer-{i}" for i in range(7)]


def password(who: str) -> str:
    return f"{who}-password-123"


@pytest.fixture
async def fleet(dev_env: WorkflowEnvironment, settings: Settings, pg_url: str,
                tmp_path: Path) -> AsyncIterator[tuple[Fleet, CaseworkClient]]:
    """The processes, on a database of the test's own that none has opened yet. The pack
    keeps strikes from starting shop reviews (300 restrictions over the demo's 25 shops would
    start one each: work beyond what this test counts)."""
    pack = pack_with(tmp_path, "[shop_reviews]\nstrike_threshold = 1000000\n")
    own = dataclasses.replace(settings, ledger_url=pg_url, policy_pack=pack)
    fleet = Fleet({**cli_env(dev_env, own), "CASEWORK_LEDGER_URL": pg_url,
                   "CASEWORK_POLICY_PACK": str(pack)}, tmp_path)
    fleet.start(workers=3, apis=2)
    cw = CaseworkClient(dev_env.client, own)
    try:
        await fleet.ready(cw)  # each has opened the ledger (and upgraded it, or waited)
        seed_directory(pg_url)
        credentials = Credentials(cw.ledger)
        for who in [*REVIEWERS, "kim", "lena", "jo"]:
            credentials.set_password(who, password(who))
        yield fleet, cw
    finally:
        fleet.stop()


async def test_three_workers_and_two_apis_one_killed_lose_and_double_nothing(
        fleet: tuple[Fleet, CaseworkClient], settings: Settings, pg_url: str) -> None:
    procs, cw = fleet
    started = time.monotonic()
    tokens = [await api_token(procs.urls[i % 2], who, password(who))
              for i, who in enumerate(REVIEWERS)]
    _, intake = Credentials(cw.ledger).create_token("marketplace", ["intake", "read"])
    listings = load_listings(SandboxMarketplace(settings.sandbox_db), N, "MP")
    load = HttpLoad(procs.urls, intake, tokens, listings, uuid.uuid4().hex[:8])
    work = asyncio.create_task(load.run(concurrency=24))
    try:
        while len(load.decided) < N // 3 and not work.done():
            await asyncio.sleep(0.05)
        procs.kill_worker(0)  # mid-run: its cached cases and running activities go elsewhere
        await shared_across_apis(procs.urls, cw)  # while the load runs on
        await work
    finally:
        work.cancel()
    deadline = time.monotonic() + 120
    while (left := await load.finished(cw.ledger)) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    assert not left, f"{len(left)} case(s) short of their end: {dict(list(left.items())[:10])}"
    removed = {case_id for case_id, end in load.expected().items() if end == "appealable"}
    assert len(load.case_ids) == N and len(removed) == N // 2

    # Nothing acted on twice: the marketplace's record of applied actions.
    sandbox = SandboxMarketplace(settings.sandbox_db)
    assert sandbox.enforcement_counts(Action.REMOVE) == {
        listings[i]: 1 for i in load.case_ids if load.restricts(i)}
    # One statement of reasons and one seller notice per restriction, one outcome per reporter.
    with psycopg.connect(pg_url) as db:
        statements = dict(db.execute(
            "SELECT case_id, COUNT(*) FROM statements GROUP BY case_id").fetchall())
        # the schema the five processes brought up together, once
        assert db.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall() == [(head(),)]
    assert statements == dict.fromkeys(removed, 1)
    sent = collections.Counter((m["case_id"], m["kind"]) for m in cw.ledger.messages())
    assert {c for (c, kind), n in sent.items()
            if kind == MessageKind.STATEMENT_OF_REASONS and n == 1} == removed
    assert {c for (c, kind), n in sent.items() if kind == MessageKind.OUTCOME and n == 1} == set(
        load.case_ids.values())
    assert max(sent.values()) == 1

    # Every command sent again with its key through the other API process: its first answer.
    await replayed_on_the_other_api(procs.urls, load, cw)
    print(f"{N} cases in {time.monotonic() - started:.0f} s, {load.retried} command(s) sent "
          "again while unavailable")


async def replayed_on_the_other_api(urls: list[str], load: HttpLoad, cw: CaseworkClient
                                    ) -> None:
    """A sample of each kind of command (every 5th case's open, claim and decision: removed
    cases in their appeal window and closed ones), and one key sent with another body: refused,
    whichever process saw it first. A report sent again opens nothing, not even on a case
    whose workflow has ended."""
    sample = [s for s in load.sent if int(s.key.rsplit("-", 1)[1]) % 5 == 0]
    assert len(sample) == 3 * N // 5
    opened = [s.answer["case_id"] for s in sample if s.path == "/api/reports"]
    runs = {case_id: await cw.temporal.get_workflow_handle(case_id).describe()
            for case_id in opened}
    assert WorkflowExecutionStatus.COMPLETED in {r.status for r in runs.values()}  # closed ones
    async with (httpx.AsyncClient(base_url=urls[0], timeout=60) as a,
                httpx.AsyncClient(base_url=urls[1], timeout=60) as b):
        http = [a, b]

        async def again(s: Sent, body: dict[str, Any] | None = None) -> httpx.Response:
            return await http[1 - s.api].post(s.path, json=s.body if body is None else body,
                                             headers={"Authorization": f"Bearer {s.token}",
                                                      "Idempotency-Key": s.key})

        answers = await asyncio.gather(*(again(s) for s in sample))
        for s, r in zip(sample, answers, strict=True):
            assert r.status_code in (200, 201), (s.path, r.status_code, r.text)
            if s.path.endswith("/decision") or s.path.endswith("/claim"):
                assert r.json() == s.answer, s.path
            else:  # the report's case (its state then: whatever routing had reached)
                assert r.json()["case_id"] == s.answer["case_id"]
        for s in sample:
            if s.path == "/api/reports":
                run = await cw.temporal.get_workflow_handle(s.answer["case_id"]).describe()
                assert run.run_id == runs[s.answer["case_id"]].run_id, "a report opened a case again"
        other = await again(sample[-1], {**sample[-1].body, "reason": "another reason"})
        assert other.status_code == 422 and "used before" in other.json()["detail"]


async def shared_across_apis(urls: list[str], cw: CaseworkClient) -> None:
    """A console session made on one process works on the other; sign-in attempts count across
    both; a person's roles changed elsewhere hold on both within a second; the trend Schedule
    made from both at once is one Schedule."""
    async with (httpx.AsyncClient(base_url=urls[0], timeout=60) as a,
                httpx.AsyncClient(base_url=urls[1], timeout=60) as b):
        cookie = await sign_in(urls[0], "lena", password("lena"))  # the console's form
        b.cookies.set("cw_session", cookie)
        home = await b.get("/")
        assert home.status_code == 200 and "lena" in home.text.lower()
        await b.post("/logout", data={"csrf": home.text.split('name="csrf" value="')[1]
                                      .split('"')[0]})
        a.cookies.set("cw_session", cookie)
        assert (await a.get("/")).status_code == 303  # signed out everywhere

        # Wrong passwords through both processes: the limit is theirs together.
        for n in range(ATTEMPTS):
            wrong = await [a, b][n % 2].post("/api/login", json={"username": "kim",
                                                                 "password": "not it at all"})
            assert wrong.status_code == 401, wrong.text
        for http in (a, b):  # even the right password now waits
            late = await http.post("/api/login", json={"username": "kim",
                                                       "password": password("kim")})
            assert late.status_code == 429, late.text

        # A change to the directory through one process (here the ledger itself) reaches the
        # other's commands within the second a process keeps a person as read.
        jo = {"Authorization": f"Bearer {await api_token(urls[0], 'jo', password('jo'))}"}
        for http in (a, b):  # (nothing in that queue: the load files counterfeits)
            empty = await http.post("/api/queues/fraud/claim-next", json={}, headers=jo)
            assert empty.status_code == 404, empty.text
        cw.ledger.put_person(Person(id="jo", name="Jo", roles=[Role.OPS]))
        await asyncio.sleep(PERSON_TTL_S)
        for http in (a, b):
            refused = await http.post("/api/queues/fraud/claim-next", json={}, headers=jo)
            assert refused.status_code == 409 and "reviewer" in refused.text, refused.text

        # The lead asks both processes at once to make the Schedule: one Schedule, both answer.
        lead = {"Authorization": f"Bearer {await api_token(urls[1], 'lena', password('lena'))}"}
        made = await asyncio.gather(*(http.put("/api/trends/schedule", json={}, headers=lead)
                                      for http in (a, b)))
        assert [r.status_code for r in made] == [200, 200], [r.text for r in made]
        assert "created" in {r.json()["made"] for r in made}
        schedule = cw.temporal.get_schedule_handle(made[0].json()["schedule_id"])
        try:
            assert (await schedule.describe()).id == made[1].json()["schedule_id"]
        finally:
            await schedule.delete()

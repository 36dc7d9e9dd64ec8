"""Four eyes, one rule of the engine, wherever an action starts: a decision, an appeal verdict,
an escalation's resolution, a job, an authority's order, a shop decision. Each severe (or big,
or unknown-authority) action waits for a second person; everyone who already took part (the
decider, the requester, the first approver, the decider or approver of what an appeal contests)
is refused over the API, the CLI and the console alike, and nothing changes; then a second
person's approval lets it through."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from client.credentials import Credentials
from config.settings import Settings
from domain.core import Action, Subject
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, settled_in, signed_in
from tests.test_e2e_cli import cli_env, run_cli

ORDER_OF = {"review": ("case", "/api/cases/{}/approval", "/cases/{}/approve"),
            "appeal": ("appeal", "/api/appeals/{}/approval", "/appeals/{}/approve"),
            "takedown": ("takedown", "/api/takedowns/{}/approval", "/takedowns/{}/approve")}


@dataclass
class Matter:
    kind: str  # the lifecycle whose approval it waits for
    record_id: str
    refused: list[tuple[str, str]]  # (a person who took part, why they are refused)
    approver: str
    read: Callable[[], Awaitable[Any]]


class Surfaces:
    """One person's three ways in: the API, the CLI (signed in) and the console (a session)."""

    def __init__(self, cw: CaseworkClient, api_url: str, env: dict[str, str]) -> None:
        self.cw, self.url, self.env = cw, api_url, env

    async def approve(self, who: str, surface: str, kind: str, record_id: str) -> tuple[int, str]:
        command, api_path, console_path = ORDER_OF[kind]
        if surface == "cli":
            proc = await run_cli(signed_in(self.env, self.url, self.cw.ledger, who), command,
                                 "approve", record_id, ok=False)
            return (0 if proc.returncode == 0 else 409), proc.stderr
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            if surface == "api":
                token = Credentials(self.cw.ledger).create_token(who)[1]
                r = await http.post(api_path.format(record_id),
                                    headers={"Authorization": f"Bearer {token}"})
                return (0 if r.status_code == 200 else r.status_code), r.text
            csrf = await _console_session(http, who)
            r = await http.post(console_path.format(record_id), data={"csrf": csrf})
            return (0 if r.status_code == 303 else r.status_code), r.text


async def _console_session(http: httpx.AsyncClient, who: str) -> str:
    page = await http.get("/login")
    login_csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert login_csrf
    await http.post("/login", data={"username": who, "password": f"{who}-password-123",
                                    "csrf": login_csrf.group(1)})
    home = await http.get("/")
    csrf = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert csrf, home.text
    return csrf.group(1)


async def _decision(cw: CaseworkClient) -> Matter:
    ref = await cw.open_case("seller:U-06", "user_report", reporter="buyer-1", text="ring")
    await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "queued")
    await cw.claim(ref.case_id, "sam")
    await cw.decide(ref.case_id, "sam", ["counterfeit"], ["suspend_seller"], "fake ring")
    return Matter("review", ref.case_id, [("sam", "sam decided this")], "emma",
                  lambda: cw.show(ref.case_id))


async def _appeal_verdict(cw: CaseworkClient) -> Matter:
    ref = await cw.open_case("seller:U-07", "user_report", reporter="buyer-1", text="ring")
    await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "queued")
    await cw.claim(ref.case_id, "sam")
    await cw.decide(ref.case_id, "sam", ["counterfeit"], ["terminate_seller"], "repeat ring")
    await eventually(lambda: cw.show(ref.case_id), settled_in("awaiting_approval"))
    await cw.approve(ref.case_id, "emma")
    case = await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "appealable")
    appeal = await cw.file_appeal(ref.case_id, "a misunderstanding",
                                  appellant=case.facts.seller_id if case.facts else None)
    await eventually(lambda: cw.appeal(appeal.appeal_id), lambda a: a.state == "queued")
    for who, why in (("emma", "emma approved the decision under appeal"),):
        with pytest.raises(Exception, match=why):
            await cw.claim(appeal.appeal_id, who)
    await cw.claim(appeal.appeal_id, "ada")
    await cw.decide_appeal(appeal.appeal_id, "ada", "modified", ["suspend_seller"],
                           reason="a suspension is enough")
    return Matter("appeal", appeal.appeal_id, [
        ("ada", "ada decided this"), ("sam", "sam decided this"),
        ("emma", "emma approved this")], "senior-sam", lambda: cw.appeal(appeal.appeal_id))


async def _resolution(cw: CaseworkClient) -> Matter:
    ref = await cw.open_case("seller:U-08", "user_report", reporter="buyer-1", text="ring")
    await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "queued")
    await cw.claim(ref.case_id, "sam")
    esc = await cw.escalate(ref.case_id, "sam", "a public figure's shop", "P1")
    await eventually(lambda: cw.show_escalation(esc.escalation_id), lambda e: e.sla_deadline)
    await cw.acknowledge_escalation(esc.escalation_id, "otto")
    await cw.resolve_escalation(esc.escalation_id, "otto", "suspend until verified",
                                ["suspend_seller"], ["counterfeit"])
    return Matter("review", ref.case_id, [("otto", "otto decided this"),
                                          ("sam", "sam asked for this")], "emma",
                  lambda: cw.show(ref.case_id))


async def _job(cw: CaseworkClient) -> Matter:
    job = await cw.takedown(["seller:U-11"], "terminate_seller", "fraud ring", "sam",
                            ["counterfeit"])
    return Matter("takedown", job.job_id, [("sam", "sam asked for this")], "emma",
                  lambda: cw.takedown_status(job.job_id))


async def _order(cw: CaseworkClient) -> Matter:
    from domain.takedown.models import AuthorityOrder

    order = AuthorityOrder(authority="court-xy", reference="X-1", legal_ground="Art. 9 order",
                           deadline="2026-12-31")  # type: ignore[arg-type]
    job = await cw.takedown(["listing:L-0420"], "remove", "Art. 9 order", "sam", order=order)
    return Matter("takedown", job.job_id, [("sam", "sam asked for this")], "emma",
                  lambda: cw.takedown_status(job.job_id))


async def _shop_decision(cw: CaseworkClient) -> Matter:
    review = await cw.shop_review("S-05", "ops-1")
    await eventually(lambda: cw.shop_status(review.review_id),
                     lambda r: r.state == "awaiting_decision", timeout=60)
    decided = await cw.decide_shop(review.review_id, "sam", "suspend_shop", "counterfeits",
                                   ["counterfeit"])
    [job_id] = (await eventually(lambda: cw.shop_status(review.review_id),
                                 lambda r: bool(r.job_ids))).job_ids
    assert decided.state == "enforcing"
    return Matter("takedown", job_id, [("sam", "sam decided this"),
                                       ("ops-1", "lacks the senior role")], "emma",
                  lambda: cw.takedown_status(job_id))


@pytest.mark.parametrize("start", [_decision, _appeal_verdict, _resolution, _job, _order,
                                   _shop_decision], ids=lambda f: f.__name__.strip("_"))
async def test_a_severe_action_waits_and_no_one_who_took_part_approves_it(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings,
        sandbox: SandboxMarketplace, api_url: str,
        start: Callable[[CaseworkClient], Awaitable[Matter]]) -> None:
    creds = Credentials(dev.ledger)
    for who in ("sam", "senior-sam", "emma", "ada", "otto", "ops-1"):
        creds.set_password(who, f"{who}-password-123")
    matter = await start(dev)
    waiting = {"review": "awaiting_approval", "appeal": "awaiting_approval",
               "takedown": "pending_approval"}[matter.kind]
    before = await eventually(  # settled: its last commit in (a later one would change it)
        matter.read, lambda r: r.state == waiting
        and getattr(r, "committed", 0) == getattr(r, "revision", 0), timeout=30)
    surfaces = Surfaces(dev, api_url, cli_env(dev_env, settings))
    for who, why in matter.refused:
        for surface in ("api", "cli", "console"):
            status, said = await surfaces.approve(who, surface, matter.kind, matter.record_id)
            assert status in (403, 409) and why in said, (who, surface, status, said)
    assert await matter.read() == before  # nothing changed
    status, said = await surfaces.approve(matter.approver, "api", matter.kind, matter.record_id)
    assert status == 0, said
    after = await eventually(matter.read, lambda r: r.state != waiting)
    assert getattr(after, "approved_by", None) in (matter.approver, None)


async def test_the_audits_terminated_sellers_need_the_approval_first(
        dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    matter = await _job(dev)
    await eventually(matter.read, lambda j: j.state == "pending_approval")
    seller = Subject.parse("seller:U-11")
    assert sandbox.enforcement_count(seller, Action.TERMINATE_SELLER) == 0
    await dev.approve_takedown(matter.record_id, "emma")
    await eventually(matter.read, lambda j: j.state == "completed")
    assert sandbox.enforcement_count(seller, Action.TERMINATE_SELLER) == 1

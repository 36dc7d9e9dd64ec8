"""The command added through the table alone (`domain.review.commands`): a second person sends a
severe decision back to its queue with a reason, over the API, the CLI and the console; the
decider may not; the case is decided again and nothing was enforced in between."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from client.credentials import Credentials
from config.settings import Settings
from domain.core import Action, Event, Subject
from domain.errors import Refused
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, signed_in
from tests.test_e2e_cli import cli_env, run_cli
from tests.test_four_eyes import _console_session


async def _awaiting(cw: CaseworkClient, seller: str) -> str:
    ref = await cw.open_case(f"seller:{seller}", "user_report", reporter="buyer-1", text="ring")
    await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "queued")
    await cw.claim(ref.case_id, "sam")
    await cw.decide(ref.case_id, "sam", ["counterfeit"], ["suspend_seller"], "fake ring")
    await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "awaiting_approval")
    return ref.case_id


async def test_a_second_person_sends_a_decision_back_over_api_cli_and_console(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings,
        sandbox: SandboxMarketplace, api_url: str) -> None:
    creds = Credentials(dev.ledger)
    for who in ("sam", "emma"):
        creds.set_password(who, f"{who}-password-123")
    env = cli_env(dev_env, settings)

    # the decider is refused on every surface, and nothing changes
    case_id = await _awaiting(dev, "U-07")
    before = await dev.show(case_id)
    proc = await run_cli(signed_in(env, api_url, dev.ledger, "sam"), "case", "reject", case_id,
                         "--reason", "mine", ok=False)
    assert proc.returncode == 3 and "sam decided this" in proc.stderr, proc.stderr
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        token = creds.create_token("sam")[1]
        r = await http.post(f"/api/cases/{case_id}/rejection", json={"reason": "mine"},
                            headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 409 and "sam decided this" in r.json()["detail"], r.text
        r = await http.post(f"/api/cases/{case_id}/rejection", json={},  # a reason is needed
                            headers={"Authorization": f"Bearer {creds.create_token('emma')[1]}"})
        assert r.status_code == 422, r.text
    assert await dev.show(case_id) == before

    # the CLI: back in the queue under a fresh SLA, the decision kept as sent back
    proc = await run_cli(signed_in(env, api_url, dev.ledger, "emma"), "case", "reject", case_id,
                         "--reason", "three replicas, not one: check the seller's history")
    case = await dev.show(case_id)
    assert case.state == "queued" and case.decision is None and case.assignee is None
    assert [d.actions[0].value for d in case.sent_back] == ["suspend_seller"]
    events = [e for e in await dev.timeline(case_id) if e.event == Event.SENT_BACK]
    assert events[0].actor == "emma" and "three replicas" in events[0].detail
    assert sandbox.enforcement_count(Subject.parse("seller:U-07"), Action.SUSPEND_SELLER) == 0
    # decided again (the first decider may claim it), and this time approved
    await dev.claim(case_id, "sam")
    await dev.decide(case_id, "sam", ["counterfeit"], ["warn"], "a warning after all")
    await eventually(lambda: dev.show(case_id), lambda c: c.state == "closed")

    # the API (with its Idempotency-Key: sent twice, answered once) and the console
    case_id = await _awaiting(dev, "U-08")
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        headers = {"Authorization": f"Bearer {creds.create_token('emma')[1]}",
                   "Idempotency-Key": "reject-u08"}
        first = await http.post(f"/api/cases/{case_id}/rejection", json={"reason": "weak"},
                                headers=headers)
        again = await http.post(f"/api/cases/{case_id}/rejection", json={"reason": "weak"},
                                headers=headers)
        assert first.status_code == again.status_code == 200, (first.text, again.text)
        assert first.json()["state"] == again.json()["state"] == "queued"
    case_id = await _awaiting(dev, "U-09")
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        csrf = await _console_session(http, "emma")
        page = await http.get(f"/cases/{case_id}")
        assert 'id="reject"' in page.text
        r = await http.post(f"/cases/{case_id}/reject", data={"csrf": csrf, "text": "weak"})
        assert r.status_code == 303, r.text
    assert (await dev.show(case_id)).state == "queued"


async def test_an_approval_and_a_rejection_at_once_one_wins_and_the_case_goes_on(
        dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    """Both pass their validators when they land in one workflow task; the second handler's
    refusal fails its Update (typed), not the workflow task, so the case is never stuck."""
    for n, seller in enumerate(("U-10", "U-11", "U-12")):
        case_id = await _awaiting(dev, seller)
        results = await asyncio.gather(
            dev.approve(case_id, "emma"), dev.reject(case_id, "ada", f"weak {n}"),
            return_exceptions=True)
        won = [r for r in results if not isinstance(r, BaseException)]
        lost = [r for r in results if isinstance(r, BaseException)]
        assert len(won) == 1 and len(lost) == 1, results
        assert isinstance(lost[0], Refused) and "cannot" in str(lost[0]), lost
        case = await eventually(lambda cid=case_id: dev.show(cid),
                                lambda c: c.state in ("queued", "appealable"))
        assert case.state == ("appealable" if case.approved_by else "queued")


async def test_a_late_refusal_fails_the_update_not_the_workflow_task() -> None:
    """The worker's interceptor turns a refusal raised by a handler (after its validator) into
    the Update's failure, typed so the client raises casework's own error."""
    from temporalio.exceptions import ApplicationError
    from temporalio.worker import HandleUpdateInput, WorkflowInboundInterceptor

    from workflows.parts.trust import CommandLog

    class Handler(WorkflowInboundInterceptor):
        def __init__(self) -> None:
            pass

        async def handle_update_handler(self, input: HandleUpdateInput) -> None:
            raise Refused("cannot approve a case in state 'queued'")

    update = HandleUpdateInput(id="u", update="approve", args=[], headers={})
    with pytest.raises(ApplicationError) as failed:
        await CommandLog(Handler()).handle_update_handler(update)
    assert failed.value.type == "Refused" and failed.value.non_retryable
    assert "state 'queued'" in failed.value.message


async def test_a_report_while_a_decision_waits_joins_it_so_a_rejection_leaves_one_case(
        dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    case_id = await _awaiting(dev, "U-13")
    late = await dev.open_case("seller:U-13", "user_report", reporter="buyer-2", text="again")
    assert (late.case_id, late.outcome) == (case_id, "joined")
    await dev.reject(case_id, "emma", "read the second report")
    case = await dev.show(case_id)
    assert case.state == "queued" and len(case.reports) == 2 and not case.followups

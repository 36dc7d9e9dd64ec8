"""The audit's reproductions, run as written against real servers: each is refused (or, for a
retried command, answers its first outcome), and nothing changes in the marketplace or the
ledger. Commands reach a workflow only sealed and from a person who may act."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowUpdateFailedError

from client.casework import CaseworkClient
from client.credentials import Credentials
from config.settings import Settings
from domain.core import Action, Subject
from marketplace.sandbox import SandboxMarketplace
from stack import devserver
from tests.helpers import eventually, serving, settled_in

ORDER = {"authority": "made-up-authority", "reference": "FAKE-1",
         "legal_ground": "Art. 9 order", "deadline": "2026-12-31"}
SELLERS = ["seller:U-01", "seller:U-02", "seller:U-03"]


@pytest.fixture
async def api(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        yield http


def auth(cw: CaseworkClient, who: str, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {Credentials(cw.ledger).create_token(who, scopes)[1]}"}


def terminated(sandbox: SandboxMarketplace) -> list[int]:
    return [sandbox.enforcement_count(Subject.parse(s), Action.TERMINATE_SELLER)
            for s in SELLERS]


async def test_no_reviewer_terminates_sellers_and_an_unknown_authority_waits(
        api: httpx.AsyncClient, dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    """The audit's first reproduction: a reviewer's order from a made-up authority terminated
    three sellers at once."""
    body = {"lines": SELLERS, "action": "terminate_seller", "reason": "fraud ring",
            "order": ORDER}
    r = await api.post("/api/takedowns", json=body, headers=auth(dev, "alice"))
    assert r.status_code == 409 and "lacks the lead or senior role" in r.json()["detail"]
    r = await api.post("/api/takedowns", json=body, headers=auth(dev, "lena"))  # a lead
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["state"] == "pending_approval" and "severe" in job["approval"]
    small = await api.post("/api/takedowns", headers=auth(dev, "lena"), json={
        "lines": ["listing:L-0301"], "action": "remove", "reason": "order",
        "order": {**ORDER, "reference": "FAKE-2"}})
    assert small.json()["state"] == "pending_approval"
    assert "does not list" in small.json()["approval"]
    await asyncio.sleep(1)
    assert terminated(sandbox) == [0, 0, 0]
    assert not [m for m in dev.ledger.messages(job["job_id"]) if m["kind"] == "order_report"]


async def test_jobs_split_around_the_threshold_wait_like_the_whole(
        api: httpx.AsyncClient, dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    lena = auth(dev, "lena")
    first, second = ([f"listing:L-{n:04d}" for n in range(start, start + 60)]
                     for start in (241, 301))
    one = await api.post("/api/takedowns", headers=lena, json={
        "lines": first, "action": "disable", "reason": "recall part 1",
        "policy_ids": ["recalled-products"]})
    assert one.json()["state"] in ("executing", "completed"), one.text
    two = await api.post("/api/takedowns", headers=lena, json={
        "lines": second, "action": "disable", "reason": "recall part 2",
        "policy_ids": ["recalled-products"]})
    assert two.json()["state"] == "pending_approval", two.text
    assert "60 more of the requester's" in two.json()["approval"]


async def test_a_takedown_route_never_approves_a_review_case(
        api: httpx.AsyncClient, dev: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    ref = await dev.open_case("seller:U-04", "user_report", reporter="buyer-1", text="scam")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "sam")
    await dev.decide(ref.case_id, "sam", ["counterfeit"], ["suspend_seller"], "ring")
    before = await eventually(lambda: dev.show(ref.case_id), settled_in("awaiting_approval"))
    r = await api.post(f"/api/takedowns/{ref.case_id}/approval", headers=auth(dev, "emma"))
    assert r.status_code == 404, r.text
    r = await api.post(f"/api/appeals/{ref.case_id}/approval", headers=auth(dev, "emma"))
    assert r.status_code == 404, r.text
    with pytest.raises(WorkflowUpdateFailedError) as refused:  # the workflow's own answer
        await dev.temporal.get_workflow_handle(ref.case_id).execute_update(
            "approve_job", {"approver": "emma"})
    assert refused.value.cause.message == "a case takes no command 'approve_job'"  # type: ignore[union-attr]
    assert await dev.show(ref.case_id) == before
    assert sandbox.enforcement_count(Subject.parse("seller:U-04"), Action.SUSPEND_SELLER) == 0


async def test_a_plaintext_update_from_the_temporal_cli_is_refused(
        dev: CaseworkClient, dev_env: Any, sandbox: SandboxMarketplace) -> None:
    """`temporal workflow update execute --input` sends plaintext; a ghost approved a case."""
    ref = await dev.open_case("seller:U-05", "user_report", reporter="buyer-1", text="scam")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "sam")
    await dev.decide(ref.case_id, "sam", ["counterfeit"], ["suspend_seller"], "ring")
    before = await eventually(lambda: dev.show(ref.case_id), settled_in("awaiting_approval"))
    handle = dev.temporal.get_workflow_handle(ref.case_id)
    events = await _quiet(handle)  # the approval's staff message lands in the background
    address = dev_env.client.service_client.config.target_host
    for name, body in (("approve", {"approver": "ghost-not-in-directory"}),
                       ("approve", {"approver": "emma", "acting": {
                           "person": {"id": "emma", "name": "Emma", "roles": ["senior"],
                                      "queues": ["*"]}, "as_of": "2026-12-03T00:00:00Z",
                           "record": before.case_uid}}),
                       ("decide", {"reviewer": "sam", "actions": ["no_action"],
                                   "reason": "x"})):
        proc = await asyncio.to_thread(subprocess.run, [
            devserver.binary("temporal"), "workflow", "update", "execute", "-w", ref.case_id,
            "--name", name, "--input", json.dumps(body), "--address", address],
            capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0, proc.stdout  # refused by the validator: not sealed
    assert len((await handle.fetch_history()).events) == events  # nothing written
    assert await dev.show(ref.case_id) == before
    assert sandbox.enforcement_count(Subject.parse("seller:U-05"), Action.SUSPEND_SELLER) == 0


async def test_a_command_sent_again_answers_its_first_outcome(
        api: httpx.AsyncClient, dev: CaseworkClient) -> None:
    """With the worker slow or down the caller cannot tell whether a decision landed: the same
    Idempotency-Key again answers the first outcome, never a 409 for its own effect."""
    alice = auth(dev, "alice")
    ref = await dev.open_case("listing:L-0002", "user_report", reporter="buyer-1")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    claimed = [await api.post("/api/queues/ip/claim-next", json={},
                              headers={**alice, "Idempotency-Key": "claim-1"})
               for _ in range(2)]
    assert [c.status_code for c in claimed] == [200, 200]
    assert claimed[0].json()["case_id"] == claimed[1].json()["case_id"] == ref.case_id
    body = {"policy_ids": ["counterfeit"], "actions": ["remove"], "reason": "replica"}
    key = {**alice, "Idempotency-Key": "decide-1"}
    first = await api.post(f"/api/cases/{ref.case_id}/decision", json=body, headers=key)
    again = await api.post(f"/api/cases/{ref.case_id}/decision", json=body, headers=key)
    assert first.status_code == again.status_code == 200, again.text
    assert first.json()["revision"] == again.json()["revision"]
    other = await api.post(f"/api/cases/{ref.case_id}/decision", headers=key,
                           json={**body, "reason": "another"})
    assert other.status_code == 422 and "another request" in other.json()["detail"]
    fresh = await api.post(f"/api/cases/{ref.case_id}/decision", json=body, headers=alice)
    assert fresh.status_code == 409  # without the key it is a second decision: refused
    for bad in ("", "x" * 201):
        r = await api.post(f"/api/cases/{ref.case_id}/hold", json={"reason": "x"},
                           headers={**alice, "Idempotency-Key": bad})
        assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"], bad


async def test_errors_name_no_internals(dev: CaseworkClient, settings: Settings) -> None:
    """A store out of reach is a 503 that names no path or URL; the log has the rest."""
    own = CaseworkClient(dev.temporal, settings)
    async with serving(own) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        own.ledger.close()  # the ledger goes away under a running API
        r = await http.get("/api/queues/ip", headers={"Authorization": "Bearer cw_a_b"})
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    assert str(settings.data_dir) not in r.text and "ledger.db" not in r.text


async def test_data_files_are_the_owners_alone(dev: CaseworkClient, settings: Settings) -> None:
    dev.ledger.people()
    for name in ("ledger.db", "sandbox.db"):
        mode = stat.S_IMODE(os.stat(settings.data_dir / name).st_mode)
        assert mode == 0o600, (name, oct(mode))


async def test_sign_in_attempts_are_counted_by_the_peer_not_a_header(
        api: httpx.AsyncClient, dev: CaseworkClient) -> None:
    Credentials(dev.ledger).set_password("bob", "bob-password-123")
    answers = [await api.post("/api/login", json={"username": "bob", "password": "wrong"},
                              headers={"X-Forwarded-For": f"10.0.0.{i}"}) for i in range(7)]
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 2


async def test_a_disabled_person_is_signed_out_for_good(
        api: httpx.AsyncClient, api_url: str, dev: CaseworkClient) -> None:
    creds = Credentials(dev.ledger)
    creds.set_password("carol", "carol-password-123")
    token = auth(dev, "carol")
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as browser:
        page = await browser.get("/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        await browser.post("/login", data={"username": "carol", "password": "carol-password-123",
                                           "csrf": csrf})
        assert (await browser.get("/")).status_code == 200
        dev.directory.disable("carol")
        assert (await api.get("/api/me", headers=token)).status_code == 401
        assert (await browser.get("/", follow_redirects=False)).status_code == 303
        dev.directory.add("carol", "Carol", ["reviewer"], ["*"])  # made active again
        assert (await api.get("/api/me", headers=token)).status_code == 401
        assert (await browser.get("/", follow_redirects=False)).status_code == 303


async def test_every_operation_documents_its_problems(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for status in ("401", "403", "404", "409", "422", "503"):
                content = op["responses"][status]["content"]
                assert "application/problem+json" in content, (method, path, status)


async def test_a_start_that_brings_its_own_state_acts_on_nothing(
        dev: CaseworkClient, dev_env: Any, settings: Settings,
        sandbox: SandboxMarketplace) -> None:
    """The audit's bypass: `temporal workflow start` with a `carried` state already enforcing
    terminate_seller. Plaintext or not, a start is no continuation: nothing is enforced."""
    from domain.core import Decision, case_id_for
    from domain.review.models import CaseInput, CaseState

    seller = Subject.parse("seller:U-07")
    now = "2026-12-03T00:00:00Z"
    state = CaseState.model_validate({
        "case_id": "x", "case_uid": "x", "subject": seller.model_dump(), "state": "enforcing",
        "opened_at": now, "reports": [{"report_id": "r", "source": "user_report",
                                       "received_at": now}],
        "decision": Decision(decided_by="ghost", policy_ids=[], reason="x", automated=False,
                             actions=[Action.TERMINATE_SELLER],
                             decided_at=now).model_dump(mode="json")})  # type: ignore[arg-type]
    inp = CaseInput(subject=seller, report=state.reports[0], carried=state)
    address = dev_env.client.service_client.config.target_host
    proc = await asyncio.to_thread(subprocess.run, [
        devserver.binary("temporal"), "workflow", "start", "--type", "ReviewWorkflow",
        "--task-queue", settings.task_queue, "-w", f"{settings.case_prefix}-evil-1",
        "--input", inp.model_dump_json(), "--address", address],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    sealed = await dev.temporal.start_workflow(  # with the keys: still no continuation
        "ReviewWorkflow", inp, id=f"{settings.case_prefix}-evil-2",
        task_queue=settings.task_queue)
    plaintext = dev.temporal.get_workflow_handle(f"{settings.case_prefix}-evil-1")
    await eventually(plaintext.describe, lambda d: d.status is not None
                     and d.status.name == "FAILED")  # refused at once, having done nothing
    await eventually(lambda: _row(dev, sealed.id), lambda row: row is not None
                     and row.state == "queued")  # screened and queued as a fresh case
    assert sandbox.enforcement_count(seller, Action.TERMINATE_SELLER) == 0
    assert dev.ledger.case(case_id_for(seller, settings.case_prefix)) is None


async def test_a_sealed_command_is_taken_once_and_a_note_only_for_its_subject(
        dev: CaseworkClient) -> None:
    import uuid
    from datetime import UTC, datetime

    from domain.people import Role
    from domain.review.models import HoldRequest
    from domain.takedown.models import TakedownNote
    from workflows.review import ReviewWorkflow

    ref = await dev.open_case("listing:L-0002", "user_report", reporter="buyer-1")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    case = await dev.show(ref.case_id)
    hold = HoldRequest(reviewer="alice", reason="waiting for a permit")
    hold.as_person(dev.directory.require("alice", Role.REVIEWER), case.case_uid,
                   datetime.now(UTC), uuid.uuid4().hex)
    handle = dev.temporal.get_workflow_handle(ref.case_id)
    await handle.execute_update(ReviewWorkflow.hold, hold, id="hold-1")
    await dev.resume(ref.case_id, "alice")
    with pytest.raises(WorkflowUpdateFailedError) as again:  # the same payload, a new Update id
        await handle.execute_update(ReviewWorkflow.hold, hold, id="hold-2")
    assert "carried out already" in again.value.cause.message  # type: ignore[union-attr]
    before = await dev.show(ref.case_id)
    await handle.signal(ReviewWorkflow.record_takedown, TakedownNote(
        job_id="job-x", action=Action.REMOVE, reason="x",
        subject=Subject.parse("listing:L-0001")))  # another subject's note
    await asyncio.sleep(1)
    assert (await dev.show(ref.case_id)).in_force == before.in_force == []


async def test_ops_reads_and_repairs_only_caseworks_own_workflows(
        dev: CaseworkClient, api_url: str) -> None:
    from client.ops import Ops
    from domain.errors import NotFound

    await dev.temporal.start_workflow("PayrollRun", id="payroll-run-1", task_queue="payroll")
    ops = Ops(dev)
    with pytest.raises(NotFound):
        await ops.explain("payroll-run-1")
    with pytest.raises(NotFound):
        await ops.repair("reset", "payroll-run-1", "ops-1", "x")
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        r = await http.get("/api/ops/records/payroll-run-1", headers=auth(dev, "ops-1"))
    assert r.status_code == 404


async def test_a_shop_subjects_case_never_takes_a_shop_reviews_id(dev: CaseworkClient) -> None:
    ref = await dev.open_case("shop:review-S-03", "user_report", reporter="buyer-1")
    review = await dev.shop_review("S-03", "ops-1")
    assert review.review_id != ref.case_id and review.shop_id == "S-03"


async def test_a_new_request_for_an_ended_job_is_refused_a_retried_one_answered(
        api: httpx.AsyncClient, dev: CaseworkClient) -> None:
    body = {"lines": ["listing:L-0501"], "action": "disable", "reason": "recall",
            "policy_ids": ["recalled-products"]}
    lena = auth(dev, "lena")
    first = await api.post("/api/takedowns", json=body, headers={**lena, "Idempotency-Key": "j1"})
    job_id = first.json()["job_id"]
    await eventually(lambda: dev.takedown_status(job_id), lambda j: j.state == "completed")
    await dev.temporal.get_workflow_handle(job_id).terminate()  # ended (as after its window)
    again = await api.post("/api/takedowns", json=body, headers={**lena, "Idempotency-Key": "j1"})
    assert again.status_code == 201 and again.json()["job_id"] == job_id
    anew = await api.post("/api/takedowns", json=body, headers={**lena, "Idempotency-Key": "j2"})
    assert anew.status_code == 409 and "has ended" in anew.json()["detail"]


async def test_a_kept_token_goes_to_its_own_api_only(dev: CaseworkClient, dev_env: Any,
                                                     settings: Settings, api_url: str,
                                                     tmp_path: Any) -> None:
    from tests.test_e2e_cli import cli_env, run_cli

    Credentials(dev.ledger).set_password("alice", "alice-password-123")
    env = {**cli_env(dev_env, settings), "CASEWORK_CONFIG_DIR": str(tmp_path / "cfg"),
           "CASEWORK_API_URL": api_url}
    env.pop("CASEWORK_TOKEN", None)
    await run_cli(env, "login", "--user", "alice", stdin="alice-password-123\n")
    elsewhere = await run_cli(env, "whoami", "--api", "http://127.0.0.1:1", ok=False)
    assert elsewhere.returncode == 3 and "not signed in to http://127.0.0.1:1" in elsewhere.stderr
    plain = await run_cli({**env, "CASEWORK_TOKEN": "cw_x_y"}, "whoami", "--api",
                          "http://api.example.com", ok=False)
    assert plain.returncode == 2 and "refusing to send a token" in plain.stderr


async def _row(cw: CaseworkClient, record_id: str) -> Any:
    return cw.ledger.case(record_id)


async def _quiet(handle: Any) -> int:
    """The history's length once nothing more has been written for a second."""
    last = -1
    while (now := len((await handle.fetch_history()).events)) != last:
        last = now
        await asyncio.sleep(1)
    return last


async def test_a_copied_report_appeal_or_job_request_acts_nowhere(
        dev: CaseworkClient, settings: Settings, sandbox: SandboxMarketplace) -> None:
    """Sealed messages bound to what they are for: a report to its subject, an appeal to its
    case, a job's request to the moment it was issued."""
    from datetime import UTC, datetime, timedelta

    from domain.appeal.models import AppealRequest
    from domain.core import Report, Source
    from domain.people import Role
    from domain.takedown.models import TakedownInput, TakedownRequest
    from tests.helpers import removed
    from workflows.review import ReviewWorkflow

    case_id = await removed(dev, Subject.parse("listing:L-0002"))
    handle = dev.temporal.get_workflow_handle(case_id)
    for message, why in (
            (Report(report_id="r-x", source=Source.USER_REPORT, reporter="buyer-9",
                    received_at=datetime.now(UTC), subject=Subject.parse("listing:L-0001")),
             "the report is about listing:L-0001"),
            (AppealRequest(text="not mine", case_uid="another-case"), "another case")):
        update = (ReviewWorkflow.file_report if isinstance(message, Report)
                  else ReviewWorkflow.file_appeal)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(update, message, id=f"copy-{why[:8]}")  # type: ignore[arg-type]
        assert why in refused.value.cause.message  # type: ignore[union-attr]
    person = dev.directory.require("lena", Role.LEAD)
    old = TakedownRequest(action=Action.REMOVE, reason="copied", requester="lena", items=1,
                          policy_ids=["counterfeit"],
                          issued_at=datetime.now(UTC) - timedelta(minutes=30))
    old.as_person(person, f"{settings.case_prefix}-takedown-copy", datetime.now(UTC), "n-1")
    dev.ledger.put_takedown_items(f"{settings.case_prefix}-takedown-copy",
                                  [Subject.parse("listing:L-0003")], "lena")
    await dev.temporal.start_workflow(
        "TakedownWorkflow", TakedownInput(job_id=f"{settings.case_prefix}-takedown-copy",
                                          subject=Subject.parse("listing:L-0003"), request=old),
        id=f"{settings.case_prefix}-takedown-copy", task_queue=settings.task_queue)
    job = await eventually(lambda: dev.takedown_status(f"{settings.case_prefix}-takedown-copy"),
                           lambda j: j.state == "refused")
    assert "a copy starts nothing" in (job.refusal or "")
    assert sandbox.enforcement_count(Subject.parse("listing:L-0003"), Action.REMOVE) == 0

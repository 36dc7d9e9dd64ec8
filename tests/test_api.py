"""The HTTP API on a real server (uvicorn on a free port): who may call what, problem+json for
every refusal, and intake idempotent per Idempotency-Key."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from client.casework import CaseworkClient
from client.credentials import Credentials
from domain.core import Subject
from domain.errors import InvalidInput
from tests.helpers import eventually
from tests.test_e2e_cli import CASEWORK, cli_env, run_cli


@pytest.fixture
async def api(api_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=api_url, timeout=20) as http:
        yield http


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _problem(r: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == f"/problems/{kind}" and body["detail"], body
    return body  # type: ignore[no-any-return]


async def test_a_reviewer_claims_and_decides_as_themself(api: httpx.AsyncClient,
                                                         dev: CaseworkClient) -> None:
    creds = Credentials(dev.ledger)
    _, alice = creds.create_token("alice")
    _, intake = creds.create_token("marketplace-intake", ["intake:user_report"])
    me = (await api.get("/api/me", headers=_auth(alice))).json()
    assert me["id"] == "alice" and me["person"]["roles"] == ["reviewer", "appeals"]
    report = {"subject": "listing:L-0002", "source": "user_report", "reporter": "buyer-1",
              "text": "fake bag"}
    first = await api.post("/api/reports", json=report,
                           headers={**_auth(intake), "Idempotency-Key": "k-1"})
    again = await api.post("/api/reports", json=report,
                           headers={**_auth(intake), "Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    case_id = first.json()["case_id"]
    assert again.json() == first.json()  # answered once: the same answer again
    await eventually(lambda: dev.show(case_id), lambda c: c.state == "queued")
    assert len((await dev.show(case_id)).reports) == 1  # one key: one report
    page = (await api.get("/api/queues/ip?limit=1", headers=_auth(alice))).json()
    assert [e["case_id"] for e in page["items"]] == [case_id]
    claimed = await api.post("/api/queues/ip/claim-next", json={}, headers=_auth(alice))
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "alice"
    decided = await api.post(f"/api/cases/{case_id}/decision", headers=_auth(alice),
                             json={"policy_ids": ["counterfeit"], "actions": ["remove"],
                                   "reason": "replica"})
    assert decided.status_code == 200, decided.text
    case = await eventually(lambda: dev.show(case_id), lambda c: c.state == "appealable")
    assert case.decision is not None and case.decision.decided_by == "alice"
    timeline = (await api.get(f"/api/cases/{case_id}/timeline", headers=_auth(alice))).json()
    assert any(e["event"] == "decided" and e["actor"] == "alice" for e in timeline)


async def test_every_refusal_is_problem_json_and_changes_nothing(api: httpx.AsyncClient,
                                                                 dev: CaseworkClient) -> None:
    creds = Credentials(dev.ledger)
    token_id, bob = creds.create_token("bob")
    _, intake = creds.create_token("intake-svc", ["intake:user_report"])
    _problem(await api.get("/api/me"), 401, "unauthenticated")
    _problem(await api.get("/api/me", headers=_auth("cw_nope_nope")), 401, "unauthenticated")
    ref = (await api.post("/api/reports", headers=_auth(intake), json={
        "subject": "listing:L-0049", "source": "user_report"})).json()
    await eventually(lambda: dev.show(ref["case_id"]), lambda c: c.state == "queued")
    # a service token cannot act as a person, nor beyond its scope
    _problem(await api.post(f"/api/cases/{ref['case_id']}/claim", json={},
                            headers=_auth(intake)), 403, "forbidden")
    _problem(await api.post("/api/reports", headers=_auth(intake), json={
        "subject": "listing:L-0001", "source": "law_enforcement"}), 403, "forbidden")
    _problem(await api.get(f"/api/cases/{ref['case_id']}", headers=_auth(intake)), 403,
             "forbidden")
    # bad bodies
    _problem(await api.post(f"/api/cases/{ref['case_id']}/decision", headers=_auth(bob),
                            json={"actions": ["remove"], "reason": "x", "reviewer": "alice"}),
             422, "invalid-input")  # no reviewer from the body: unknown field
    _problem(await api.post(f"/api/cases/{ref['case_id']}/decision", headers=_auth(bob),
                            json={"actions": "remove", "reason": 3}), 422, "invalid-input")
    _problem(await api.post("/api/reports", headers=_auth(intake),
                            content=b"{" + b" " * 2_000_000 + b"}"), 413, "too-large")
    # state and ownership
    _problem(await api.post(f"/api/cases/{ref['case_id']}/decision", headers=_auth(bob),
                            json={"actions": ["no_action"], "reason": "x"}), 409, "refused")
    await dev.claim(ref["case_id"], "alice")
    _problem(await api.post(f"/api/cases/{ref['case_id']}/decision", headers=_auth(bob),
                            json={"actions": ["no_action"], "reason": "x"}), 409, "refused")
    _problem(await api.get("/api/cases/case-listing-NOPE", headers=_auth(bob)), 404,
             "not-found")
    _problem(await api.post("/api/queues/fraud/claim-next", json={}, headers=_auth(bob)), 404,
             "empty-queue")
    case = await dev.show(ref["case_id"])
    assert (case.state, case.assignee, case.decision) == ("in_review", "alice", None)
    creds.revoke(token_id)
    _problem(await api.get("/api/me", headers=_auth(bob)), 401, "unauthenticated")


async def test_tokens_and_passwords_from_the_cli(api: httpx.AsyncClient, dev: CaseworkClient,
                                                 dev_env: Any, settings: Any) -> None:
    env = cli_env(dev_env, settings)
    made = json.loads((await run_cli(env, "token", "create", "carol", "--json")).stdout)
    assert made["token"].startswith(f"cw_{made['token_id']}_")
    assert made["token"] not in json.dumps(dev.ledger.token(made["token_id"]))  # hash only
    assert (await api.get("/api/me", headers=_auth(made["token"]))).json()["id"] == "carol"
    proc = await run_cli(env, "token", "create", "some-service", ok=False)
    assert proc.returncode == 2 and "needs --scope" in proc.stderr
    proc = await run_cli(env, "token", "create", "svc", "--scope", "write-everything", ok=False)
    assert proc.returncode == 2 and "unknown scope" in proc.stderr
    proc = await run_cli(env, "token", "create", "carol", "--scope", "read", ok=False)
    assert proc.returncode == 2 and "takes no --scope" in proc.stderr
    listed = json.loads((await run_cli(env, "token", "list", "--owner", "carol", "--json")).stdout)
    assert [t["token_id"] for t in listed] == [made["token_id"]] and "secret" not in str(listed)
    await run_cli(env, "token", "revoke", made["token_id"])
    _problem(await api.get("/api/me", headers=_auth(made["token"])), 401, "unauthenticated")
    assert "revoked" in (await run_cli(env, "token", "list")).stdout
    short = json.loads((await run_cli(env, "token", "create", "carol", "--days", "1",
                                      "--json")).stdout)
    assert (await api.get("/api/me", headers=_auth(short["token"]))).status_code == 200
    dev.ledger._write("UPDATE tokens SET expires_at = '2000-01-01T00:00:00+00:00' "  # noqa: SLF001
                      "WHERE token_id = ?", (short["token_id"],))
    _problem(await api.get("/api/me", headers=_auth(short["token"])), 401, "unauthenticated")

    proc = await asyncio.to_thread(subprocess.run, [CASEWORK, "reviewer", "password", "carol"],
                                   input="correct horse battery\n", env=env, text=True,
                                   capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    creds = Credentials(dev.ledger)
    assert creds.check_password("carol", "correct horse battery") is not None
    assert creds.check_password("carol", "wrong horse battery") is None
    assert "correct horse" not in (dev.ledger.password_hash("carol") or "")
    proc = await asyncio.to_thread(subprocess.run, [CASEWORK, "reviewer", "password", "carol"],
                                   input="short\n", env=env, text=True, capture_output=True,
                                   timeout=60)
    assert proc.returncode == 2 and "at least 12" in proc.stderr


async def test_appeals_escalations_and_jobs_through_the_api(api: httpx.AsyncClient,
                                                            dev: CaseworkClient) -> None:
    creds = Credentials(dev.ledger)
    alice, max_, sam, olga, lena, leo = (creds.create_token(p)[1] for p in (
        "alice", "max", "sam", "olga", "lena", "leo"))
    _, market = creds.create_token("marketplace", ["intake", "read", "appeal"])
    ref = await dev.open_case("listing:L-0062", "user_report", reporter="buyer-2")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await api.post(f"/api/cases/{ref.case_id}/claim", json={}, headers=_auth(alice))
    r = await api.post(f"/api/cases/{ref.case_id}/decision", headers=_auth(alice),
                       json={"policy_ids": ["wildlife"], "actions": ["remove"],
                             "reason": "pangolin"})
    assert r.status_code == 200, r.text
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "appealable")
    appeal = await api.post(f"/api/cases/{ref.case_id}/appeal", headers=_auth(market),
                            json={"text": "it is resin"})
    assert appeal.status_code == 201, appeal.text
    appeal_id = appeal.json()["appeal_id"]
    await eventually(lambda: dev.appeal(appeal_id), lambda a: a.state == "queued")
    await dev.claim(appeal_id, "max")
    _problem(await api.post(f"/api/appeals/{appeal_id}/decision", headers=_auth(alice),
                            json={"outcome": "upheld", "reason": "x"}), 409, "refused")
    r = await api.post(f"/api/appeals/{appeal_id}/decision", headers=_auth(max_),
                       json={"outcome": "upheld", "reason": "pangolin scales confirmed"})
    assert r.status_code == 200, r.text

    _problem(await api.post("/api/takedowns", headers=_auth(alice), json={
        "lines": ["listing:L-0241"], "action": "remove", "reason": "x",
        "policy_ids": ["counterfeit"]}), 409, "refused")  # a reviewer starts no bulk work
    job = await api.post("/api/takedowns", headers=_auth(lena), json={
        "lines": [f"listing:L-{n:04d}" for n in range(241, 341)] + ["listing:L-0400"],
        "action": "disable", "reason": "recall", "policy_ids": ["recalled-products"]})
    assert job.status_code == 201 and job.json()["state"] == "pending_approval", job.text
    job_id = job.json()["job_id"]
    _problem(await api.post(f"/api/takedowns/{job_id}/approval", headers=_auth(alice)), 409,
             "refused")  # alice is no senior
    _problem(await api.post(f"/api/takedowns/{job_id}/approval", headers=_auth(lena)), 409,
             "refused")  # lena asked for it
    r = await api.post(f"/api/takedowns/{job_id}/approval", headers=_auth(sam))
    assert r.status_code == 200 and r.json()["approved_by"] == "sam"
    _problem(await api.post(f"/api/takedowns/{job_id}/explode", headers=_auth(alice)), 404,
             "not-found")
    order = await api.post("/api/takedowns", headers=_auth(leo), json={
        "lines": ["listing:L-0401", "listing:L-0402"], "action": "disable",
        "reason": "court order", "order": {"authority": "police-nl", "reference": "ORD-API-1",
                                           "legal_ground": "Art. 9 order", "deadline": "2026-12-31"}})
    assert order.status_code == 201 and order.json()["state"] != "pending_approval", order.text
    assert order.json()["order"]["reference"] == "ORD-API-1"
    _problem(await api.post("/api/takedowns", headers=_auth(market), json={
        "lines": ["listing:L-0241"], "action": "remove", "reason": "x"}), 403, "forbidden")
    people = (await api.get("/api/people", headers=_auth(market))).json()
    assert "olga" in {p["id"] for p in people}
    esc = await dev.open_escalation("seller:U-07", "press", "Journalist asks", "P1")
    r = await api.post(f"/api/escalations/{esc.escalation_id}/acknowledgement",
                       headers=_auth(olga))
    assert r.status_code == 200 and r.json()["owner"] == "olga", r.text
    _problem(await api.get(f"/api/escalations/{esc.escalation_id}", headers=_auth(alice)), 403,
             "forbidden")  # a reviewer does not read sensitive matters
    assert (await api.get(f"/api/escalations/{esc.escalation_id}",
                          headers=_auth(olga))).status_code == 200
    _problem(await api.post(f"/api/cases/{ref.case_id}/appeal", headers=_auth(alice),
                            json={"text": "x"}), 403, "forbidden")  # staff file no appeals


async def _login(api: httpx.AsyncClient, who: str, password: str) -> httpx.Response:
    page = await api.get("/login")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    return await api.post("/login", data={"username": who, "password": password, "csrf": csrf})


async def test_sign_in_is_rate_limited_and_sessions_expire(api: httpx.AsyncClient,
                                                           dev: CaseworkClient) -> None:
    Credentials(dev.ledger).set_password("dana", "dana-password-12")
    for _ in range(5):
        assert (await _login(api, "dana", "not-her-password")).status_code == 401
    limited = await _login(api, "dana", "dana-password-12")  # right, but too late
    assert limited.status_code == 429 and "Too many attempts" in limited.text
    Credentials(dev.ledger).set_password("erin", "erin-password-12")
    ok = await _login(api, "erin", "erin-password-12")
    assert ok.status_code == 303 and "cw_session" in ok.headers["set-cookie"]
    assert "HttpOnly" in ok.headers["set-cookie"] and "SameSite=strict" in ok.headers[
        "set-cookie"]
    assert (await api.get("/")).status_code == 200
    dev.ledger._write("UPDATE sessions SET expires_at = '2000-01-01T00:00:00+00:00'", ())  # noqa: SLF001
    expired = await api.get("/")
    assert expired.status_code == 303 and expired.headers["location"] == "/login"
    form = await api.post("/login", data={"username": "erin", "password": "x", "csrf": "x"})
    assert form.status_code == 400  # a sign-in form without its own CSRF cookie value


async def test_every_endpoint_refuses_a_caller_without_a_token(api: httpx.AsyncClient) -> None:
    """Each API route, called without credentials: 401 problem+json, never a default actor."""
    spec = (await api.get("/openapi.json")).json()
    calls = [(method, path.replace("{", "x").replace("}", ""))
             for path, ops in spec["paths"].items()
             if path.startswith("/api/") and path != "/api/login"  # signing in takes none
             for method in ops]
    assert len(calls) >= 30, calls
    for method, path in calls:
        r = await api.request(method.upper(), path, json={} if method == "post" else None)
        _problem(r, 401, "unauthenticated")


async def test_scopes_decide_what_a_caller_files_and_opens(api: httpx.AsyncClient,
                                                           dev: CaseworkClient) -> None:
    creds = Credentials(dev.ledger)
    _, bob = creds.create_token("bob")
    _, olga = creds.create_token("olga")
    _, press_desk = creds.create_token("press-desk", ["escalate"])
    _, intake = creds.create_token("forms", ["intake:user_report"])
    # a person files only what the T&S team notices itself, as themself
    _problem(await api.post("/api/reports", headers=_auth(bob), json={
        "subject": "listing:L-0071", "source": "law_enforcement"}), 403, "forbidden")
    r = await api.post("/api/reports", headers=_auth(bob), json={
        "subject": "listing:L-0071", "source": "internal", "reporter": "somebody-else"})
    assert r.status_code == 201, r.text
    case = await eventually(lambda: dev.show(r.json()["case_id"]),
                            lambda c: c.state != "screening")
    assert [x.reporter for x in case.reports] == ["bob"]  # the body names nobody
    # appeals and escalations need their own scopes
    _problem(await api.post(f"/api/cases/{case.case_id}/appeal", headers=_auth(intake),
                            json={"text": "x"}), 403, "forbidden")
    _problem(await api.post("/api/escalations", headers=_auth(intake), json={
        "subject": "seller:U-09", "source": "press", "reason": "x"}), 403, "forbidden")
    _problem(await api.post("/api/escalations", headers=_auth(bob), json={
        "subject": "seller:U-09", "source": "press", "reason": "x"}), 403, "forbidden")
    _problem(await api.post("/api/escalations", headers=_auth(press_desk), json={
        "subject": "seller:U-09", "source": "reviewer", "reason": "x"}), 422, "invalid-input")
    opened = await api.post("/api/escalations", headers=_auth(press_desk), json={
        "subject": "seller:U-09", "source": "press", "reason": "A reporter asks about U-09"})
    assert opened.status_code == 201, opened.text
    esc_id = opened.json()["escalation_id"]
    await api.post(f"/api/escalations/{esc_id}/acknowledgement", headers=_auth(olga))
    _problem(await api.post(f"/api/escalations/{esc_id}/severity", headers=_auth(olga),
                            json={"severity": "P9", "reason": "x"}), 422, "invalid-input")
    _problem(await api.post(f"/api/escalations/{esc_id}/severity", headers=_auth(press_desk),
                            json={"severity": "P0", "reason": "x"}), 403, "forbidden")
    r = await api.post(f"/api/escalations/{esc_id}/severity", headers=_auth(olga),
                       json={"severity": "P0", "reason": "a regulator is copied"})
    assert r.status_code == 200 and r.json()["severity"] == "P0", r.text
    _problem(await api.post(f"/api/escalations/{esc_id}/hand-off", headers=_auth(olga),
                            json={"to": "the-moon", "reason": "x"}), 422, "invalid-input")
    r = await api.post(f"/api/escalations/{esc_id}/hand-off", headers=_auth(olga),
                       json={"to": "legal", "reason": "counsel takes it"})
    assert r.status_code == 200, r.text
    esc = await dev.show_escalation(esc_id)
    assert esc.opened_by == "press-desk" and esc.assignee == "olga"


async def test_a_streamed_body_over_the_limit_is_refused(api: httpx.AsyncClient,
                                                         dev: CaseworkClient) -> None:
    _, intake = Credentials(dev.ledger).create_token("streamer", ["intake"])

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        yield b'{"subject": "listing:STREAMED-1", "source": "user_report", "text": "'
        for _ in range(20):
            yield b"x" * 100_000
        yield b'"}'

    r = await api.post("/api/reports", headers=_auth(intake), content=chunks())
    _problem(r, 413, "too-large")
    await asyncio.sleep(0.5)  # were anything started, its screening would be writing by now
    assert dev.ledger.open_review_cases(Subject.parse("listing:STREAMED-1")) == []


async def test_a_service_never_names_a_person_and_keys_are_the_callers(
        api: httpx.AsyncClient, dev: CaseworkClient) -> None:
    creds = Credentials(dev.ledger)
    _, forms = creds.create_token("forms", ["intake"])
    _, other = creds.create_token("other-forms", ["intake"])
    _problem(await api.post("/api/reports", headers=_auth(forms), json={
        "subject": "listing:L-0012", "source": "user_report", "reporter": "alice"}),
        403, "forbidden")  # alice is staff: a service cannot file as her
    _problem(await api.post("/api/reports", headers=_auth(forms), json={
        "subject": "listing:L-0012", "source": "internal"}), 403, "forbidden")
    report = {"subject": "listing:L-0012", "source": "user_report", "reporter": "buyer-9"}
    one = await api.post("/api/reports", headers={**_auth(forms), "Idempotency-Key": "K"},
                         json={**report, "text": "first"})
    two = await api.post("/api/reports", headers={**_auth(other), "Idempotency-Key": "K"},
                         json={**report, "text": "second"})
    assert one.status_code == two.status_code == 201, two.text
    case = await eventually(lambda: dev.show(one.json()["case_id"]),
                            lambda c: len(c.reports) == 2)  # one key, two callers: two reports
    assert sorted(r.text for r in case.reports) == ["first", "second"]
    _problem(await api.post("/api/reports", headers={**_auth(forms), "Idempotency-Key": "K"},
                            json={**report, "text": "first, edited"}), 422, "invalid-input")
    assert len((await dev.show(case.case_id)).reports) == 2  # the key's first body stands
    batch = await api.post("/api/reports/batch", headers=_auth(forms), json=[
        {"subject": "listing:L-0013", "source": "user_report"},
        {"subject": "listing:NO SPACES", "source": "user_report"},
        {"subject": "listing:L-0014", "source": "internal"}])
    answers = batch.json()
    assert batch.status_code == 200 and "case_id" in answers[0], answers
    assert [(a["status"], a["type"]) for a in answers[1:]] == [
        (422, "/problems/invalid-input"), (403, "/problems/forbidden")]
    # a person's token takes no scopes; an escalation is not a review case
    with pytest.raises(InvalidInput, match="takes no --scope"):
        creds.create_token("bob", ["read"])
    _, bob = creds.create_token("bob")
    esc = await dev.open_escalation("seller:U-08", "press", "Journalist asks", "P1")
    _problem(await api.get(f"/api/cases/{esc.escalation_id}", headers=_auth(bob)), 404,
             "not-found")
    olga = _auth(creds.create_token("olga")[1])

    async def listed() -> list[str]:
        page = (await api.get("/api/escalations", headers=olga)).json()
        return [e["case_id"] for e in page["items"]]

    await eventually(listed, lambda ids: esc.escalation_id in ids)
    _problem(await api.get("/api/escalations", headers=_auth(bob)), 403, "forbidden")
    # a record read as another kind is not found, never a crash
    sam = _auth(creds.create_token("sam")[1])  # a senior reads appeals and jobs
    for path, who in ((f"/api/escalations/{case.case_id}", olga),
                      (f"/api/appeals/{esc.escalation_id}", sam),
                      (f"/api/takedowns/{case.case_id}", sam),
                      (f"/api/shop-reviews/{esc.escalation_id}", sam)):
        _problem(await api.get(path, headers=who), 404, "not-found")
    _problem(await api.get("/api/queues/ip?offset=99999999999999999999", headers=_auth(bob)),
             422, "invalid-input")
    # a key whose first request was refused opens nothing, and may be used again
    fixed = {"subject": "listing:L-0015", "source": "user_report"}
    _problem(await api.post("/api/reports", headers={**_auth(forms), "Idempotency-Key": "K2"},
                            json={**fixed, "subject": "listing:"}), 422, "invalid-input")
    r = await api.post("/api/reports", headers={**_auth(forms), "Idempotency-Key": "K2"},
                       json=fixed)
    assert r.status_code == 201, r.text


async def test_the_reference_page_and_console_refusals(api: httpx.AsyncClient,
                                                       dev: CaseworkClient) -> None:
    docs = await api.get("/docs")
    assert docs.status_code == 200 and "POST /api/reports" in docs.text
    assert "<script src=\"http" not in docs.text and "cdn" not in docs.text
    assert "script-src 'self'" in docs.headers["content-security-policy"]
    creds = Credentials(dev.ledger)
    creds.set_password("carol", "carol-password-1")
    assert (await _login(api, "carol", "carol-password-1")).status_code == 303
    old = api.cookies["cw_session"]
    home = await api.get("/")
    assert home.status_code == 200 and home.headers["cache-control"] == "no-store"
    for csrf in ("", "ü"):  # missing, or not even ASCII: refused, never a crash
        r = await api.post("/logout", data={"csrf": csrf} if csrf else {})
        assert r.status_code == 403 and "CSRF" in r.text, r.text
    r = await api.post("/login", data={"username": "carol", "password": "x", "csrf": "é"})
    assert r.status_code == 400
    creds.set_password("carol", "carol-password-2")  # a new password ends every session
    api.cookies.set("cw_session", old)
    assert (await api.get("/")).status_code == 303


def test_evidence_is_marked_in_any_case_and_never_builds_markup() -> None:
    from api.console_pages import highlight

    assert str(highlight("Rolex REPLICA <b>", ["replica"])) == (
        "Rolex <mark>REPLICA</mark> &lt;b&gt;")
    hostile = '<img src=x onerror="alert(1)"> a &amp; lt'
    out = str(highlight(hostile, ["a", "amp", "lt", "img"]))
    assert "<img" not in out and "&lt;<mark>img</mark>" in out and "&amp;<mark>amp</mark>;" in out


async def test_concurrent_wrong_passwords_cannot_outrun_the_limit(api: httpx.AsyncClient,
                                                                  dev: CaseworkClient) -> None:
    Credentials(dev.ledger).set_password("nina", "nina-password-12")

    async def attempt() -> int:
        async with httpx.AsyncClient(base_url=api.base_url, timeout=20) as own:
            return (await _login(own, "nina", "a-wrong-password")).status_code

    codes = await asyncio.gather(*(attempt() for _ in range(12)))
    assert sorted(codes) == [401] * 5 + [429] * 7, codes


async def test_a_console_form_over_the_limit_gets_a_page(api: httpx.AsyncClient) -> None:
    r = await api.post("/login", data={"username": "x" * 2_000_000, "password": "p"})
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "exceeds 1,000,000 bytes" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]


async def test_a_bug_answers_500_with_no_detail_and_the_headers(
        api: httpx.AsyncClient, dev: CaseworkClient, monkeypatch: pytest.MonkeyPatch) -> None:
    Credentials(dev.ledger).set_password("carol", "carol-password-1")
    assert (await _login(api, "carol", "carol-password-1")).status_code == 303

    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(dev.ledger, "queue_heads", boom)
    page = await api.get("/")
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    assert "secret internals" not in page.text and "went wrong" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"

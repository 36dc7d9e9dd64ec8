"""The console in a real browser (Debian's Chromium driven by Playwright): sign in, claim and
decide with the keyboard alone, hostile report text shown as text, roles that close pages, and
sign-out that ends the session."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from client.api import CaseworkClient
from client.credentials import Credentials
from domain.core import Action, Subject
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually
from tests.test_api import api  # noqa: F401 - the server fixture

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
HOSTILE = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">"
pytestmark = pytest.mark.skipif(shutil.which("chromium") is None,
                                reason="Debian's chromium is not installed (.ci/run installs it)")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        await b.close()


async def _sign_in(page: Page, base: str, who: str, password: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#username", who)
    await page.fill("#password", password)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/")


async def test_a_reviewer_signs_in_claims_and_decides_with_the_keyboard(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser,  # noqa: F811
        sandbox: SandboxMarketplace) -> None:
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    creds.set_password("alice", "alice-password-1")
    creds.set_password("bob", "bob-password-123")
    ref = await dev.open_case("listing:L-0002", "user_report", reporter="buyer-1", text=HOSTILE)
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")

    page = await browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: dialogs.append(d.message))
    await page.goto(f"{base}/")
    assert page.url == f"{base}/login"  # signed out: the console sends you to sign in
    await page.fill("#username", "alice")
    await page.fill("#password", "wrong-password-x")
    await page.keyboard.press("Enter")
    assert "Wrong name or password" in await (await page.wait_for_selector(".error")).inner_text()
    await _sign_in(page, base, "alice", "alice-password-1")

    await page.keyboard.press("c")  # claim next (the ip queue comes first)
    await page.wait_for_url(f"{base}/cases/{ref.case_id}")
    assert await page.inner_text(".report-text") == HOSTILE  # shown as text
    assert await page.evaluate("window.pwned") is None and not dialogs
    assert await page.locator("mark").count() > 0  # the evidence highlighted
    await page.keyboard.press("r")
    await page.keyboard.type("Replica bag, counterfeit")
    await page.keyboard.press("Escape")
    await page.locator("body").focus()
    await page.keyboard.press("1")  # the first policy: counterfeit
    await page.keyboard.press("Control+Enter")
    await page.wait_for_url(f"{base}/cases/{ref.case_id}?decided=1")

    case = await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "appealable")
    assert case.decision is not None and case.decision.decided_by == "alice"
    assert sandbox.enforcement_count(Subject.parse("listing:L-0002"), Action.REMOVE) == 1
    await page.reload()
    assert "alice decided" in await page.inner_text("#timeline")

    await page.click("#logout")
    await page.wait_for_url(f"{base}/login")
    await page.goto(f"{base}/cases/{ref.case_id}")
    assert page.url == f"{base}/login"  # the session has ended

    other = await browser.new_page()
    await _sign_in(other, base, "bob", "bob-password-123")
    response = await other.goto(f"{base}/appeals")
    assert response is not None and response.status == 403
    assert "appeals role" in await other.inner_text("main")


async def test_forms_without_their_csrf_token_are_refused(api: httpx.AsyncClient,  # noqa: F811
                                                          dev: CaseworkClient,
                                                          browser: Browser) -> None:
    base = str(api.base_url).rstrip("/")
    Credentials(dev.ledger).set_password("carol", "carol-password-1")
    page = await browser.new_page()
    await _sign_in(page, base, "carol", "carol-password-1")
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    r = await api.post("/queues/ip/claim-next", data={"csrf": "forged"},
                       headers={"Cookie": f"cw_session={cookies['cw_session']}"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert "Content-Security-Policy" in (await api.get("/login")).headers


async def test_an_appeal_decided_by_a_second_person_and_a_job_approved_in_the_browser(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser,  # noqa: F811
        sandbox: SandboxMarketplace) -> None:
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    for who in ("max", "sam", "ops-1"):
        creds.set_password(who, f"{who}-password-123")
    ref = await dev.open_case("listing:L-0062", "user_report", reporter="buyer-2")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    await dev.decide(ref.case_id, "alice", ["wildlife"], ["remove"], "pangolin")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "appealable")
    appeal = await dev.file_appeal(ref.case_id, "It is resin, not pangolin")
    await eventually(lambda: dev.appeal(appeal.appeal_id), lambda a: a.state == "queued")

    page = await browser.new_page()
    await _sign_in(page, base, "max", "max-password-123")
    await page.goto(f"{base}/appeals")
    await page.click(f"a[href='/appeals/{appeal.appeal_id}']")
    await page.click("#claim-appeal")
    await page.check("input[value=overturned]")
    await page.fill("#appeal-reason", "Resin replica, documented")
    await page.click("#decide-appeal")
    done = await eventually(lambda: dev.appeal(appeal.appeal_id),
                            lambda a: a.verdict is not None)
    assert done.verdict is not None and done.verdict.decided_by == "max"
    await eventually(lambda: _restored(sandbox), bool)  # the listing back on the marketplace

    job = await dev.takedown([f"listing:L-{n:04d}" for n in range(241, 343)], "disable",
                             "recall", "alice", ["recalled-products"])
    approver = await browser.new_page()
    await _sign_in(approver, base, "sam", "sam-password-123")
    await approver.goto(f"{base}/takedowns/{job.job_id}")
    await approver.click("#approve")
    await eventually(lambda: dev.takedown_status(job.job_id), lambda j: j.approved_by == "sam")
    assert (await approver.goto(f"{base}/ops")).status == 403  # noqa: PLR2004 - sam is no ops
    ops = await browser.new_page()
    await _sign_in(ops, base, "ops-1", "ops-1-password-123")
    await ops.goto(f"{base}/ops")
    assert "Backlog" in await ops.inner_text("main")


async def _restored(sandbox: SandboxMarketplace) -> bool:
    return sandbox.show(Subject.parse("listing:L-0062"))["status"] == "active"


async def test_an_escalation_owner_acknowledges_and_notes_in_the_browser(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    creds.set_password("olga", "olga-password-12")
    creds.set_password("alice", "alice-password-1")
    esc = await dev.open_escalation("seller:U-07", "press", "Journalist asks about fakes", "P1")
    page = await browser.new_page()
    await _sign_in(page, base, "olga", "olga-password-12")
    await page.goto(f"{base}/escalations")
    await page.click(f"a[href='/escalations/{esc.escalation_id}']")
    await page.click("#ack")
    await page.fill("#note-text", HOSTILE)
    await page.click("#add-note")
    await page.wait_for_selector("#notes li strong")
    assert HOSTILE in await page.inner_text("#notes")  # as text
    assert await page.evaluate("window.pwned") is None
    state = await eventually(lambda: dev.show_escalation(esc.escalation_id),
                             lambda e: e.notes)
    assert (state.owner, state.notes[0].by) == ("olga", "olga")
    reviewer = await browser.new_page()
    await _sign_in(reviewer, base, "alice", "alice-password-1")
    assert (await reviewer.goto(f"{base}/escalations")).status == 403  # noqa: PLR2004

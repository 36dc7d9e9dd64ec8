"""A day's work in the console (Chromium, real servers), with no dead end: `c` claims the most
urgent case across one's queues, a claim-next in appeals opens the appeal, an emptied queue says
so and where work waits, a reviewer gives a claim back with a reason (console, CLI, API), an
escalation is a link only for those who may open it, a job is steered by its requester; a
decision picks its action and a reason template; search by words and seller, with CSV; the
seller's history on the case page; the approvals inbox; shortcuts that can be turned off."""

from __future__ import annotations

import asyncio
import concurrent.futures

import httpx
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from client.credentials import Credentials
from client.ops import Ops
from config.settings import Settings
from domain.core import Event
from domain.people import Person, Role
from tests.helpers import eventually, own_pack_worker, serving, signed_in
from tests.test_api import api  # noqa: F401 - the server fixture
from tests.test_console import _sign_in, browser, pytestmark  # noqa: F401 - fixture, skip rule
from tests.test_e2e_cli import cli_env, run_cli


async def _queued(cw: CaseworkClient, subject: str, text: str = "replica") -> str:
    ref = await cw.open_case(subject, "user_report", reporter="buyer-1", text=text)
    await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "queued")
    return ref.case_id


async def test_c_claims_the_most_urgent_case_and_an_empty_queue_says_where_work_waits(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    Credentials(dev.ledger).set_password("bob", "bob-password-123")
    ip_case = await _queued(dev, "listing:L-0002")  # ip, first by name
    wildlife = await _queued(dev, "listing:L-0062", "pangolin scales")
    await Ops(dev).repair("bump", wildlife, "ops-1", "a journalist asks", priority="P0")
    await eventually(lambda: dev.row(wildlife), lambda r: r is not None and r.priority.value == "P0")

    page = await browser.new_page()
    await _sign_in(page, base, "bob", "bob-password-123")
    await expect(page.locator("h1")).to_have_text("My queues")
    await page.keyboard.press("c")  # the P0 in wildlife, not the head of ip
    await page.wait_for_url(f"{base}/cases/{wildlife}")
    photo = page.locator(".images .image.blurred")  # animal welfare: blurred until pressed
    await expect(photo).to_have_count(1)
    assert await photo.locator("img").evaluate("i => i.complete && i.naturalWidth") == 480
    await photo.click()
    await expect(page.locator(".images .image.blurred")).to_have_count(0)
    await page.fill("#reason", "Pangolin scales: protected species")
    await page.check("input[name=policy][value=wildlife]")
    await page.click("#decide")
    # wildlife is empty now: home says so, and that ip has work
    await page.wait_for_url(f"{base}/?empty=wildlife&decided={wildlife}")
    assert f"Decided {wildlife}" in await page.inner_text("#decided")
    empty = page.locator("#empty")
    assert "Nothing to claim in wildlife" in await empty.inner_text()
    assert await empty.locator("a").get_attribute("href") == "/queues/ip"
    await page.keyboard.press("c")
    await page.wait_for_url(f"{base}/cases/{ip_case}")


async def test_a_claim_next_in_appeals_opens_the_appeal(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    Credentials(dev.ledger).set_password("max", "max-password-123")
    case_id = await _queued(dev, "listing:L-0062", "pangolin")
    await dev.claim(case_id, "alice")
    await dev.decide(case_id, "alice", ["wildlife"], ["remove"], "pangolin")
    await eventually(lambda: dev.show(case_id), lambda c: c.state == "appealable")
    appeal = await dev.file_appeal(case_id, "It is resin, not pangolin")
    await eventually(lambda: dev.appeal(appeal.appeal_id), lambda a: a.state == "queued")

    page = await browser.new_page()
    await _sign_in(page, base, "max", "max-password-123")
    await page.goto(f"{base}/appeals")
    await page.click("button.claim-next[data-queue=appeals]")
    await page.wait_for_url(f"{base}/appeals/{appeal.appeal_id}")
    claimed = await dev.appeal(appeal.appeal_id)
    assert claimed.assignee == "max", claimed
    # the appeals reviewer sees the listing, its evidence and the seller's history
    title = await dev.show(case_id)
    assert title.facts is not None and title.facts.title in await page.inner_text("#title")
    assert await page.locator("#title mark, #description mark, .hits mark").count() > 0
    assert "Protected wildlife products" in await page.inner_text("#policies")
    assert await page.locator("#history").count() == 1


async def test_a_reviewer_gives_a_claim_back_with_a_reason(
        api: httpx.AsyncClient, api_url: str, dev: CaseworkClient, browser: Browser,  # noqa: F811
        dev_env: WorkflowEnvironment, settings: Settings) -> None:
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    creds.set_password("alice", "alice-password-1")
    case_id = await _queued(dev, "listing:L-0002")

    page = await browser.new_page()
    await _sign_in(page, base, "alice", "alice-password-1")
    await page.goto(f"{base}/cases/{case_id}")
    await page.click("#claim")
    await expect(page.locator("#state")).to_have_attribute("data-state", "in_review")
    await page.fill("#release-text", "I know this seller personally")
    await page.click("#release")
    await page.wait_for_url(f"{base}/")
    case = await dev.show(case_id)
    assert (case.state, case.assignee) == ("queued", None), case
    [given] = [e for e in case.timeline if e.event == Event.RELEASED]
    assert (given.actor, given.detail) == ("alice", "I know this seller personally")

    # the CLI (only the holder may; a reason is needed) and the API
    await dev.claim(case_id, "bob")
    env = cli_env(dev_env, settings)
    refused = await run_cli(signed_in(env, api_url, dev.ledger, "alice"), "case", "release",
                            case_id, "--reason", "not mine", ok=False)
    assert refused.returncode == 3 and "only the assignee (bob)" in refused.stderr, refused.stderr
    await run_cli(signed_in(env, api_url, dev.ledger, "bob"), "case", "release", case_id,
                  "--reason", "out sick this afternoon")
    assert (await dev.show(case_id)).state == "queued"
    await dev.claim(case_id, "carol")
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        headers = {"Authorization": f"Bearer {creds.create_token('carol')[1]}"}
        r = await http.post(f"/api/cases/{case_id}/release", json={}, headers=headers)
        assert r.status_code == 422, r.text  # a reason is needed
        r = await http.post(f"/api/cases/{case_id}/release", json={"reason": "conflict"},
                            headers=headers)
        assert r.status_code == 200 and r.json()["state"] == "queued", r.text


async def test_an_escalation_is_a_link_only_for_who_may_open_it(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    creds.set_password("alice", "alice-password-1")
    creds.set_password("otto", "otto-password-123")
    case_id = await _queued(dev, "listing:L-0002")
    await dev.claim(case_id, "alice")
    esc = await dev.escalate(case_id, "alice", "a public figure's shop", "P2")

    page = await browser.new_page()
    await _sign_in(page, base, "alice", "alice-password-1")
    await page.goto(f"{base}/cases/{case_id}")
    note = page.locator("#escalation")
    assert esc.escalation_id in await note.inner_text()
    assert await note.locator("a").count() == 0  # alice may not open it: no link to a 403
    owner = await browser.new_page()
    await _sign_in(owner, base, "otto", "otto-password-123")
    await owner.goto(f"{base}/cases/{case_id}")
    await owner.click("#escalation a")
    await owner.wait_for_url(f"{base}/escalations/{esc.escalation_id}")
    # the escalation owner sees the listing, its evidence and the seller's history
    assert "Gucci belt dupe" in await owner.inner_text("#title")
    assert "Counterfeit" in await owner.inner_text("#policies")
    assert "U-01" in await owner.inner_text("#history")


async def test_a_job_is_steered_by_its_requester_and_approved_by_a_senior(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    for who in ("lena", "sam"):
        creds.set_password(who, f"{who}-password-123")
    job = await dev.takedown([f"listing:L-{n:04d}" for n in range(401, 503)], "disable",
                             "recall", "lena", ["recalled-products"])
    await eventually(lambda: dev.takedown_status(job.job_id),
                     lambda j: j.state == "pending_approval")
    buttons = "main form button"
    requester = await browser.new_page()
    await _sign_in(requester, base, "lena", "lena-password-123")
    await requester.goto(f"{base}/takedowns/{job.job_id}")
    assert await requester.locator(buttons).all_inner_texts() == ["Cancel"]  # no self-approval
    senior = await browser.new_page()
    await _sign_in(senior, base, "sam", "sam-password-123")
    await senior.goto(f"{base}/takedowns/{job.job_id}")
    assert await senior.locator(buttons).all_inner_texts() == ["Approve"]  # steering is lena's
    # what the approver weighs: the reason, the policy's text, the items a page at a time
    assert "recall" in await senior.inner_text("#job-reason")
    assert "Recalled or unsafe products" in await senior.inner_text("#job-policies")
    assert await senior.locator("#items tbody tr").count() == 50
    await senior.click("#next-items")
    assert await senior.locator("#items tbody tr").count() == 50
    await senior.click("#next-items")
    assert await senior.locator("#items tbody tr").count() == 2  # 102 in all
    assert "0 of 102 acted on: pending 102" in await senior.inner_text("#live")
    await senior.click("#approve")
    await eventually(lambda: dev.takedown_status(job.job_id),
                     lambda j: j.state == "completed", timeout=60)
    await requester.goto(f"{base}/takedowns/{job.job_id}")
    await requester.click("#reverse")
    await eventually(lambda: dev.takedown_status(job.job_id),
                     lambda j: j.state not in ("completed", "reversing"), timeout=60)


async def test_a_decision_picks_its_action_and_a_reason_template(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    Credentials(dev.ledger).set_password("bob", "bob-password-123")
    case_id = await _queued(dev, "listing:L-0002")
    page = await browser.new_page()
    await _sign_in(page, base, "bob", "bob-password-123")
    await page.goto(f"{base}/cases/{case_id}")
    await page.click("#claim")
    await expect(page.locator("#decide-form")).to_be_visible()
    ticked = "input[name=actions]:checked"
    assert await page.locator(ticked).evaluate_all("bs => bs.map(b => b.value)") == ["remove"]
    await page.keyboard.press("t")  # the counterfeit policy's first template
    reason = await page.input_value("#reason")
    assert reason.startswith("Replica of a protected brand"), reason
    await page.uncheck("input[name=actions][value=remove]")
    await page.check("input[name=actions][value=warn]")  # a warning, not the default removal
    await page.fill("#reason", reason + " First time: a warning.")
    await page.click("#decide")
    await page.wait_for_url(f"{base}/?empty=ip&decided={case_id}")
    case = await eventually(lambda: dev.show(case_id), lambda c: c.decision is not None)
    assert case.decision is not None
    assert [a.value for a in case.decision.actions] == ["warn"], case.decision
    assert case.decision.reason.endswith("First time: a warning.")


async def test_single_key_shortcuts_can_be_turned_off(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    Credentials(dev.ledger).set_password("bob", "bob-password-123")
    await _queued(dev, "listing:L-0002")
    page = await browser.new_page()
    await _sign_in(page, base, "bob", "bob-password-123")
    await page.keyboard.press("?")
    await expect(page.locator("#shortcuts")).to_be_visible()
    await page.uncheck("#keys-on")
    await page.click("#close-shortcuts")
    await page.keyboard.press("c")  # off: nothing is claimed
    await page.wait_for_timeout(500)
    assert page.url == f"{base}/"
    await page.reload()  # the setting stays
    await page.keyboard.press("c")
    await page.wait_for_timeout(500)
    assert page.url == f"{base}/"
    await page.click("#shortcuts-help")
    await page.check("#keys-on")
    await page.click("#close-shortcuts")
    await page.keyboard.press("c")
    await page.wait_for_url(f"{base}/cases/**")


async def test_a_senior_sends_a_decision_back_from_the_approvals_inbox(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    Credentials(dev.ledger).set_password("emma", "emma-password-123")
    case_id = await _queued(dev, "seller:U-07", "ring")
    await dev.claim(case_id, "sam")
    await dev.decide(case_id, "sam", ["counterfeit"], ["suspend_seller"], "fake ring")
    await eventually(lambda: dev.show(case_id), lambda c: c.state == "awaiting_approval")
    page = await browser.new_page()
    await _sign_in(page, base, "emma", "emma-password-123")
    await page.click("nav a[href='/approvals']")
    await page.click(f"#approvals a[href='/cases/{case_id}']")
    await page.fill("#reject-text", "One ring is not a pattern: warn first")
    await page.click("#reject")
    case = await eventually(lambda: dev.show(case_id), lambda c: c.state == "queued")
    [back] = [e for e in case.timeline if e.event == Event.SENT_BACK]
    assert back.actor == "emma" and "warn first" in back.detail
    await page.goto(f"{base}/approvals")
    assert "Nothing waits for you" in await page.inner_text("#approvals")


async def test_a_reviewer_finds_a_listing_decides_it_and_sees_it_in_the_sellers_history(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    Credentials(dev.ledger).set_password("bob", "bob-password-123")
    belt = await _queued(dev, "listing:L-0002", "a dupe")  # seller U-01, shop S-01
    perfume = await _queued(dev, "listing:L-0004", "replica perfume")  # the same seller
    await eventually(lambda: dev.row(perfume), lambda r: r is not None and r.title is not None)
    page = await browser.new_page()
    await _sign_in(page, base, "bob", "bob-password-123")
    await page.fill("#search", "BELT")  # a word of the title, in any case
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/search?q=BELT")
    found = page.locator("table.records tbody tr")
    assert await found.count() == 1 and "Gucci belt dupe" in await found.inner_text()
    await page.goto(f"{base}/search?q=U-01")  # by its seller
    assert await page.locator("table.records tbody tr").count() == 2
    session = next(c["value"] for c in await page.context.cookies() if c["name"] == "cw_session")
    export = await api.get("/search", params={"q": "U-01", "format": "csv"},
                           headers={"Cookie": f"cw_session={session}"})
    lines = export.text.strip().splitlines()
    assert export.headers["content-type"].startswith("text/csv") and len(lines) == 3, lines
    await page.click(f"a[href='/cases/{belt}']")
    photo = page.locator(".images a.image img")  # the listing's photo, as the buyer sees it
    await expect(photo).to_have_count(1)
    assert await photo.evaluate("i => i.complete && i.naturalWidth") == 480
    src = await photo.get_attribute("src")  # /media/HASH?k=KEY: this session's key
    cookie = {"Cookie": f"cw_session={session}"}
    shown = await api.get(src, headers=cookie)
    assert shown.headers["content-type"] == "image/png" and shown.content[:4] == b"\x89PNG"
    assert shown.headers["cache-control"] == "private, max-age=600"
    path, key = src.split("?k=")
    for refused in (path, f"{path}?k={'0' * 32}", f"/media/0123456789abcdef?k={key}",
                    "/media/..%2Fsandbox.db", "/media/a%25"):  # no key, another's, no hash
        gone = await api.get(refused, headers=cookie)
        assert gone.status_code == 404, (refused, gone.status_code)
        assert gone.headers["cache-control"] == "no-store"
    assert (await api.get(src)).status_code in (303, 401)  # signed in only
    assert "Counterfeit" in await page.inner_text("#policies")  # the policy's text and law
    assert "Regulation (EU) 2017/1001" in await page.inner_text("#policies")
    assert perfume in await page.inner_text("#history")  # the seller's other open case
    await page.click("#claim")
    await expect(page.locator("#decide-form")).to_be_visible()
    await page.keyboard.press("t")
    await expect(page.locator("#reason")).not_to_be_empty()
    await page.uncheck("input[name=actions][value=remove]")
    await page.check("input[name=actions][value=warn]")
    await page.click("#decide")
    await page.wait_for_url(f"{base}/cases/{perfume}")  # decide and next: the same queue
    await eventually(lambda: dev.row(belt), lambda r: r is not None and r.state != "in_review")
    await page.reload()
    past = page.locator("#history table.records").nth(1)
    assert belt in await past.inner_text(), await page.inner_text("#history")


async def test_a_note_that_names_someone_lands_in_their_inbox(
        api: httpx.AsyncClient, api_url: str, dev: CaseworkClient, browser: Browser,  # noqa: F811
        dev_env: WorkflowEnvironment, settings: Settings) -> None:
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    for who in ("alice", "bob"):
        creds.set_password(who, f"{who}-password-123")
    case_id = await _queued(dev, "listing:L-0002")
    page = await browser.new_page()
    await _sign_in(page, base, "alice", "alice-password-123")
    await page.goto(f"{base}/cases/{case_id}")
    await page.fill("#note-text", "@bob the same belt was removed last month <b>twice</b>")
    await page.click("#add-note")
    await expect(page.locator("#timeline")).to_contain_text("the same belt was removed")
    # the CLI too (a note that names nobody reaches no inbox)
    env = signed_in(cli_env(dev_env, settings), api_url, dev.ledger, "alice")
    await run_cli(env, "case", "note", case_id, "--text", "seller answered: no invoice")
    inbox = await browser.new_page()
    await _sign_in(inbox, base, "bob", "bob-password-123")
    await inbox.click("nav a[href='/inbox']")
    items = inbox.locator("#inbox li")
    assert await items.count() == 1
    text = await items.inner_text()
    assert "alice" in text and "<b>twice</b>" in text and "Gucci belt dupe" in text, text
    await items.locator("a").click()
    await inbox.wait_for_url(f"{base}/cases/{case_id}")
    notes = [e for e in await dev.timeline(case_id) if e.event == Event.NOTE_ADDED]
    assert [e.actor for e in notes] == ["alice", "alice"]


async def test_ops_repair_a_stuck_claim_from_the_ops_page(
        dev_env: WorkflowEnvironment, settings: Settings, browser: Browser,  # noqa: F811
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    async with own_pack_worker(dev_env.client, settings, executor,
                               "\n[ops]\nclaim_hours = 0.0003\n") as cw, serving(cw) as url:
        Credentials(cw.ledger).set_password("ops-1", "ops-1-password-123")
        case_id = await _queued(cw, "listing:L-0049")
        await cw.claim(case_id, "alice")
        await asyncio.sleep(1.5)  # claimed longer than the pack allows
        page = await browser.new_page()
        await _sign_in(page, url, "ops-1", "ops-1-password-123")
        await page.goto(f"{url}/ops")
        row = page.locator("#stuck tr", has_text=case_id)
        await row.locator(".repair-reason").fill("alice is on leave")
        await row.locator(".repair-button").click()
        await page.wait_for_url(f"{url}/ops")
        case = await cw.show(case_id)
        assert (case.state, case.assignee) == ("queued", None), case
        assert case.timeline[-1].actor == "ops-1" and "alice is on leave" in case.timeline[-1].detail


async def test_every_role_has_a_home(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    for who in ("olga", "ops-1"):
        creds.set_password(who, f"{who}-password-123")
    esc = await dev.open_escalation("seller:U-05", "press", "A journalist asks", "P2")
    await eventually(lambda: dev.row(esc.escalation_id), lambda r: r is not None)
    owner = await browser.new_page()
    await _sign_in(owner, base, "olga", "olga-password-123")  # owns escalations, works no queue
    await expect(owner.locator("#queue-escalations")).to_contain_text(esc.escalation_id)
    assert await owner.locator("button.claim-next").count() == 0
    ops = await browser.new_page()
    await _sign_in(ops, base, "ops-1", "ops-1-password-123")  # reads every queue, works none
    await expect(ops.locator("#stuck-count")).to_be_visible()
    assert await ops.locator("section.queue").count() > 1


async def test_what_the_audit_found_stays_fixed(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    dev.ledger.put_person(Person(id="ipper", name="Ip Per", roles=[Role.REVIEWER],
                                 queues=["ip"]))
    creds = Credentials(dev.ledger)
    for who in ("ipper", "bob"):
        creds.set_password(who, f"{who}-password-123")
    belt = await _queued(dev, "listing:L-0002", "a dupe")  # ip
    mug = await _queued(dev, "listing:L-0005", "looks odd")  # the same seller, in general
    assert (await dev.row(mug)).queue != "ip"  # type: ignore[union-attr]
    # the seller's other cases: only in queues the viewer reads
    page = await browser.new_page()
    await _sign_in(page, base, "ipper", "ipper-password-123")
    await page.goto(f"{base}/cases/{belt}")
    assert mug not in await page.inner_text("#history")
    # Ctrl+Enter in the note box adds no decision
    bob = await browser.new_page()
    await _sign_in(bob, base, "bob", "bob-password-123")
    await bob.goto(f"{base}/cases/{belt}")
    await bob.click("#claim")
    await expect(bob.locator("#decide-form")).to_be_visible()
    await bob.fill("#reason", "a draft")
    await bob.fill("#note-text", "@carol have a look")
    await bob.keyboard.press("Control+Enter")
    await bob.wait_for_timeout(500)
    assert (await dev.show(belt)).decision is None
    # ticks made for the page's first policy give way when another is chosen without a script
    session = next(c["value"] for c in await bob.context.cookies() if c["name"] == "cw_session")
    csrf = await bob.locator("#decide-form input[name=csrf]").input_value()
    r = await api.post(f"/cases/{belt}/decide", headers={"Cookie": f"cw_session={session}"},
                       data={"csrf": csrf, "policy": "price-scam", "actions": "remove",
                             "actions_for": "counterfeit", "reason": "scam"})
    assert r.status_code == 303, r.text
    decided = await eventually(lambda: dev.show(belt), lambda c: c.decision is not None)
    assert [a.value for a in decided.decision.actions] == ["disable"]  # type: ignore[union-attr]


async def test_a_case_page_shows_the_sellers_strikes_and_the_cases_about_the_same_photo(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    """The same bag photo (a known-bad hash: removed at once) sold by U-01 (L-0003) and U-14
    (L-0134): each case page lists the other, related by the photo; U-01's removal is a strike
    on U-01's next case."""
    base = str(api.base_url).rstrip("/")
    Credentials(dev.ledger).set_password("bob", "bob-password-123")
    bag, twin = [(await dev.open_case(s, "user_report", reporter="buyer-1")).case_id
                 for s in ("listing:L-0003", "listing:L-0134")]
    belt = await _queued(dev, "listing:L-0002", "a dupe")
    await eventually(lambda: dev.strikes("U-01", ["ip"]), lambda s: s == (1, [bag]))
    await eventually(lambda: dev.row(twin), lambda r: r is not None and r.state == "appealable")
    page = await browser.new_page()
    await _sign_in(page, base, "bob", "bob-password-123")
    await page.goto(f"{base}/cases/{twin}")
    row = page.locator("#history tr", has=page.locator(f"a[href='/cases/{bag}']"))
    await expect(row).to_contain_text("same photo")
    assert "Strikes: 1 " in await page.inner_text("#strikes")  # U-14's: this removal
    await page.goto(f"{base}/cases/{belt}")
    strikes = page.locator("#strikes")
    assert "Strikes: 1 upheld violation in the last 90 days" in await strikes.inner_text()
    await expect(strikes.locator(f"a[href='/cases/{bag}']")).to_have_count(1)
    assert await dev.strikes("U-01", ["fraud"]) == (1, [])  # counted, not named, elsewhere
    row = page.locator("#history tr", has=page.locator(f"a[href='/cases/{bag}']"))
    await expect(row).to_contain_text("same seller")


async def test_a_queue_is_narrowed_and_ordered_by_its_filters(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    """Priority, state, who holds it, breached, and the order; pages and the CSV keep them; a
    state that is not open work is refused (422, as any invalid input) and shows nothing."""
    base = str(api.base_url).rstrip("/")
    Credentials(dev.ledger).set_password("bob", "bob-password-123")
    belt, perfume, bag = [await _queued(dev, s, "a replica") for s in
                          ("listing:L-0002", "listing:L-0004", "listing:L-0128")]
    await Ops(dev).repair("bump", perfume, "ops-1", "a rights owner calls", priority="P0")
    await eventually(lambda: dev.row(perfume), lambda r: r is not None and r.priority.value == "P0")
    await dev.claim(belt, "bob")
    page = await browser.new_page()
    await _sign_in(page, base, "bob", "bob-password-123")
    await page.goto(f"{base}/queues/ip")
    await page.select_option("select[name=assignee]", "bob")
    await page.click("#apply-filters")
    await page.wait_for_url(f"{base}/queues/ip?priority=&state=&assignee=bob&sort=urgency")
    shown = page.locator("#queue-ip tbody tr")
    await expect(shown).to_have_count(1)
    await expect(shown).to_contain_text(belt)
    await expect(page.locator("select[name=assignee]")).to_have_value("bob")
    assert await page.locator("#export").get_attribute("href") == (
        "/queues/ip?format=csv&assignee=bob&sort=urgency")
    session = next(c["value"] for c in await page.context.cookies() if c["name"] == "cw_session")

    async def ids(**query: str) -> list[str]:
        r = await api.get("/queues/ip", params={**query, "format": "csv"},
                          headers={"Cookie": f"cw_session={session}"})
        assert r.status_code == 200, r.text
        return [line.split(",")[0] for line in r.text.strip().splitlines()[1:]]

    assert await ids(priority="P0") == [perfume]
    assert await ids(assignee="-") == [perfume, bag]  # unclaimed, the most urgent first
    assert await ids(assignee="-", sort="newest") == [bag, perfume]
    assert await ids(state="in_review") == [belt]
    assert await ids(breached="1") == []
    refused = await api.get("/queues/ip", params={"state": "closed"},
                            headers={"Cookie": f"cw_session={session}"})
    assert refused.status_code == 422 and "not a state of open work" in refused.text

"""axe-core (the accessibility engine, shipped in a PyPI package) on every page type of the
console in Chromium: no violation of serious or critical impact."""

from __future__ import annotations

import httpx
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser

from client.casework import CaseworkClient
from client.credentials import Credentials
from domain.qa.commands import QA_COMMANDS as QA
from tests.helpers import eventually
from tests.test_api import api  # noqa: F401 - the server fixture
from tests.test_console import _sign_in, browser, pytestmark  # noqa: F401 - fixture, skip rule
from tests.test_console_work import _queued
from tests.test_qa_workflow import _check

GRAVE = ("serious", "critical")


async def test_every_page_type_passes_axe(
        api: httpx.AsyncClient, dev: CaseworkClient, browser: Browser) -> None:  # noqa: F811
    base = str(api.base_url).rstrip("/")
    creds = Credentials(dev.ledger)
    for who in ("emma", "otto", "ops-1", "lena"):
        creds.set_password(who, f"{who}-password-123")
    decided = await _queued(dev, "listing:L-0062", "pangolin")
    await dev.claim(decided, "alice")
    await dev.decide(decided, "alice", ["wildlife"], ["remove"], "pangolin")
    await eventually(lambda: dev.show(decided), lambda c: c.state == "appealable")
    appeal = await dev.file_appeal(decided, "It is resin, not pangolin")
    claimed = await _queued(dev, "listing:L-0002")
    await dev.claim(claimed, "emma")  # the decision panel shows
    escalated = await _queued(dev, "seller:U-08", "ring")
    await dev.claim(escalated, "sam")
    esc = await dev.escalate(escalated, "sam", "a public figure's shop", "P2")
    held = await _check(dev)  # a blind check emma holds: the verdict form
    await dev.run(QA["claim"], held, "emma")
    disputed = await _check(dev)  # both verdicts side by side, the adjudication form
    await dev.run(QA["claim"], disputed, "quinn")
    await dev.run(QA["decide"], disputed, "quinn", {
        "policy_ids": ["counterfeit"], "actions": ["warn"], "reason": "a warning is enough"})
    await eventually(lambda: dev.row(disputed),
                     lambda r: r is not None and r.state == "adjudicating")
    job = await dev.takedown([f"listing:L-{n:04d}" for n in range(401, 503)], "disable",
                             "recall", "lena", ["recalled-products"])

    pages = {
        "emma": ["/", "/queues/ip", f"/cases/{claimed}", f"/cases/{decided}",
                 f"/appeals/{appeal.appeal_id}", "/appeals", "/approvals", "/jobs",
                 f"/takedowns/{job.job_id}", "/cases/no-such-case", "/search?q=U-01",
                 "/qa", f"/qa/{held}", f"/qa/{disputed}", "/dashboard"],
        "otto": [f"/escalations/{esc.escalation_id}", "/escalations"],
        "ops-1": ["/ops", "/trends"],
        "lena": ["/datasets"],
    }
    axe, found = Axe(), {}
    anonymous = await browser.new_page()
    for path in ("/login", "/docs"):
        await anonymous.goto(f"{base}{path}")
        found[path] = (await axe.run(anonymous)).response["violations"]
    for who, paths in pages.items():
        page = await browser.new_page()
        await _sign_in(page, base, who, f"{who}-password-123")
        for path in paths:
            await page.goto(f"{base}{path}")
            found[path] = (await axe.run(page)).response["violations"]
        await page.keyboard.press("?")  # the shortcuts dialog, open
        found[f"{paths[0]} with ?"] = (await axe.run(page)).response["violations"]
    grave = {path: [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
                    for v in violations if v["impact"] in GRAVE]
             for path, violations in found.items()}
    assert not any(grave.values()), {p: v for p, v in grave.items() if v}

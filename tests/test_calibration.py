"""Calibration (golden) cases on the real servers, through the CLI process: a lead loads a set
(a bad file is named line by line and loads nothing); a reviewer's claim brings them an item
as a case like any other; decided wrongly, it lowers their calibration accuracy, acts on
nothing in the sandbox marketplace, sends no notice, counts in no productivity figure, and
shows the key's explanation once decided. Reports: a reviewer reads only their own."""

from __future__ import annotations

import concurrent.futures
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from client.ops import Ops
from config.settings import Settings
from domain.core import Action, Subject
from domain.errors import NotFound, Refused
from domain.reports import ReportQuery
from domain.review.commands import REVIEW_COMMANDS as COMMANDS
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually, own_pack_worker, serving, signed_in
from tests.test_e2e_cli import cli_env, cli_json, run_cli

KEY_WHY = "a replica logo and a price a tenth of the real one's"


def item(n: int, **changes: object) -> str:
    line = {"item_id": f"gold-{n}", "queue": "ip",
            "subject": {"kind": "listing", "id": f"L-G{n}", "title": f"Designer belt {n}",
                        "description": "brand new, 100% original", "category": "fashion",
                        "price": 19.0, "seller_id": "U-G", "created_on": "2026-11-01"},
            "report": "looks fake",
            "expected": {"policy_ids": ["counterfeit"], "actions": ["remove"]},
            "explanation": KEY_WHY}
    line.update(changes)
    return json.dumps(line)


async def test_a_calibration_case_is_scored_acts_on_nothing_and_tells_no_one(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor, tmp_path: Path) -> None:
    async with own_pack_worker(dev_env.client, settings, executor,
                               "\n[calibration]\nrate = 1.0\n") as cw, serving(cw) as url:
        base = cli_env(dev_env, settings)
        lena, kim = (signed_in(base, url, cw.ledger, who) for who in ("lena", "kim"))

        bad = tmp_path / "bad.jsonl"
        bad.write_text("\n".join([
            item(1), item(2, expected={"policy_ids": ["no-such"], "actions": ["remove"]}),
            item(3, expected={"policy_ids": ["counterfeit"], "actions": ["explode"]}),
            item(4, subject={"kind": "planet", "id": "X"}), "{not json", item(1)]))
        refused = await run_cli(lena, "calibration", "load", str(bad), ok=False)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
        for line in ("line 2: unknown policy no-such", "line 3: expected.actions",
                     "line 4: subject.kind", "line 5: not JSON", "line 6: item gold-1 twice"):
            assert line in refused.stderr, (line, refused.stderr)
        assert all(s["set_id"] != "bad" for s in await cli_json(lena, "calibration", "list"))
        loaded = tmp_path / "belts.jsonl"
        loaded.write_text(item(1) + "\n")
        denied = await run_cli(kim, "calibration", "load", str(loaded), ok=False)
        assert denied.returncode == 3 and "lacks" in denied.stderr
        await run_cli(lena, "calibration", "load", str(loaded))
        await run_cli(lena, "calibration", "load", str(loaded))  # again: harmless

        got = await cli_json(kim, "queue", "claim", "ip")
        case_id = got["case_id"]
        assert got["state"] == "in_review" and got["assignee"] == "kim"
        shown = await cli_json(kim, "case", "show", case_id)
        blob = json.dumps(shown) + json.dumps(await cli_json(kim, "case", "timeline", case_id))
        assert "gold" not in blob and KEY_WHY not in blob and "calibration" not in blob.replace(
            '"calibration": null', "")
        assert shown["facts"]["title"] == "Designer belt 1" and shown["queue"] == "ip"

        await run_cli(kim, "case", "decide", case_id, "--action", "no_action", "--reason",
                      "looks fine to me")
        done = await eventually(lambda: cw.show(case_id), lambda c: c.state == "closed")
        assert done.calibration is not None and not done.calibration.correct
        assert KEY_WHY in done.timeline[-1].detail  # the key's explanation, once decided
        sandbox = SandboxMarketplace(cw.settings.sandbox_db)
        for subject in (done.subject, Subject.parse("listing:L-G1")):
            assert sandbox.enforcement_count(subject, Action.REMOVE) == 0
        assert cw.ledger.messages(case_id) == [] and done.statement_puid is None

        results = await cli_json(kim, "calibration", "results")
        assert [(r["item_id"], r["correct"]) for r in results] == [("gold-1", False)]
        mine = await cli_json(kim, "report", "quality")
        me = [r for r in mine["reviewers"] if r["reviewer"] == "kim"]
        assert me and me[0]["calibration_accuracy"] == 0.0 and me[0]["decisions"] == 0
        assert {r["reviewer"] for r in mine["reviewers"]} == {"kim"}
        # a claim now brings real work: kim has had every item of the queue's sets
        again = await run_cli(kim, "queue", "claim", "ip", ok=False)
        assert "L-G1" not in again.stdout


async def test_reports_through_the_cli(dev_env: WorkflowEnvironment, settings: Settings,
                                      executor: concurrent.futures.ThreadPoolExecutor) -> None:
    async with own_pack_worker(dev_env.client, settings, executor) as cw, serving(cw) as url:
        base = cli_env(dev_env, settings)
        lena, kim = (signed_in(base, url, cw.ledger, who) for who in ("lena", "kim"))
        refused = await run_cli(kim, "report", "productivity", "--reviewer", "lena", ok=False)
        assert refused.returncode == 3 and "only their own" in refused.stderr
        bad = await run_cli(lena, "report", "quality", "--since", "2026-11-10", "--until",
                            "2026-11-01", ok=False)
        assert bad.returncode == 2 and "before it starts" in bad.stderr
        bad = await run_cli(lena, "report", "quality", "--since", "yesterday", ok=False)
        assert bad.returncode == 2 and "not a date" in bad.stderr
        text = (await run_cli(lena, "report", "productivity")).stdout
        assert text.startswith("productivity ")
        csv = (await run_cli(lena, "report", "quality", "--csv", "--section", "queues")).stdout
        assert csv.splitlines()[0].startswith("queue,decisions,auto_checked,auto_precision")


async def test_a_calibration_copy_is_its_reviewers_alone_and_closes_unanswered_when_given_back(
        dev_env: WorkflowEnvironment, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    """Nobody else claims it, finds it or reads it (a lead does); ops may not hand it on or
    escalate it; given back (released, cancelled by ops) it closes unanswered, untold, and
    counts nowhere; an answer is no decision of the reviewer's."""
    async with own_pack_worker(dev_env.client, settings, executor,
                               "\n[calibration]\nrate = 1.0\n") as cw, serving(cw) as url:
        await cw.load_calibration("lena", "belts", "\n".join(item(n) for n in (1, 2, 3)))
        ops = Ops(cw)
        given = await cw.claim_next("ip", "kim", lease_minutes=120)  # the lease asked for
        first = given.case_id
        assert given.lease_expires_at is not None
        assert given.lease_expires_at - datetime.now(UTC) > timedelta(minutes=100)
        with pytest.raises(NotFound):
            await cw.claim(first, "bob")
        with pytest.raises(NotFound):  # nor notes on it, nor @mentions out of it
            await cw.run(COMMANDS["note"], first, "bob", {"text": "what is this @carol"})
        with pytest.raises(NotFound):
            await ops.repair("reassign", first, "ops-1", "kim is away", to="bob")
        assert first not in {e.case_id for e in cw.queue("ip", limit=500)}
        assert first not in {e.case_id for e in cw.ledger.queue(None, limit=500)}
        assert await cw.hidden_from("sam", first)  # a senior gets copies of their own
        with pytest.raises(Refused, match="cannot be escalated"):
            await ops.repair("escalate", first, "ops-1", "looks serious")
        for words in ("U-G", "seller:U-G", "Designer belt", "looks fake"):
            assert await cw.search(words, ["ip"]) == [], words
        base = cli_env(dev_env, settings)
        bob, lena = (signed_in(base, url, cw.ledger, who) for who in ("bob", "lena"))
        hidden = await run_cli(bob, "case", "show", first, ok=False)
        assert hidden.returncode != 0 and "no review case" in hidden.stderr, hidden.stderr
        assert (await cli_json(lena, "case", "show", first))["assignee"] == "kim"

        await cw.run(COMMANDS["release"], first, "kim", {"reason": "not mine"})
        second = (await cw.claim_next("ip", "kim")).case_id
        await ops.repair("cancel", second, "ops-1", "clearing the desk")
        for case_id in (first, second):
            done = await eventually(lambda c=case_id: cw.show(c), lambda c: c.state == "closed")
            assert done.decision is None and done.calibration is None
            assert "given back unanswered" in done.timeline[-1].detail
            assert cw.ledger.messages(case_id) == []
        third = (await cw.claim_next("ip", "kim")).case_id
        await cw.decide(third, "kim", ["counterfeit"], ["remove"], "a fake")
        await eventually(lambda: cw.calibration_results("kim"), lambda r: len(r) == 1)
        answers = await cw.calibration_results("kim")
        assert [(a["item_id"], a["correct"]) for a in answers] == [("gold-3", True)]
        assert cw.ledger.decisions_by("kim") == 0
        now = datetime.now(UTC)
        report = await cw.report("lena", ReportQuery(since=now - timedelta(days=1),
                                                     until=now + timedelta(minutes=1)))
        assert all(q.backlog == 0 for q in report.queues), report.queues

"""End to end through the `casework` CLI on the dev server, and ops' view through `temporal`."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from client.credentials import Credentials
from config.settings import Settings
from domain.core import Action, Subject
from marketplace.sandbox import SandboxMarketplace
from stack import devserver
from tests.helpers import eventually, free_port, signed_in

CASEWORK = str(Path(sys.executable).parent / "casework")


def cli_env(env: WorkflowEnvironment, settings: Settings) -> dict[str, str]:
    return {**os.environ, "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
            "CASEWORK_DATA_DIR": str(settings.data_dir),
            "CASEWORK_TASK_QUEUE": settings.task_queue,
             "CASEWORK_CASE_PREFIX": settings.case_prefix,
            "CASEWORK_CODEC_KEYS": "", "CASEWORK_CODEC_KEYS_FILE": settings.codec_keys_file}


async def run_cli(env: dict[str, str], *args: str, ok: bool = True,
                  stdin: str | None = None) -> subprocess.CompletedProcess:
    proc = await asyncio.to_thread(subprocess.run, [CASEWORK, *args], env=env, input=stdin,
                                   capture_output=True, text=True, timeout=60)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


async def cli_json(env: dict[str, str], *args: str) -> Any:
    return json.loads((await run_cli(env, *args, "--json")).stdout)


def people(env: dict[str, str], api_url: str, cw: CaseworkClient,
           *who: str) -> list[dict[str, str]]:
    """`env` signed in as each of `who` (the marketplace's service: intake, read, appeal)."""
    scopes = {"marketplace": ["intake", "read", "appeal"]}
    return [signed_in(env, api_url, cw.ledger, w, scopes.get(w, ())) for w in who]


async def test_open_claim_decide_enforce_once_statement_appealable(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings,
        sandbox: SandboxMarketplace, api_url: str) -> None:
    env = cli_env(dev_env, settings)
    market, alice, sam = people(env, api_url, dev, "marketplace", "alice", "sam")
    ref = await cli_json(market, "case", "open", "--subject", "listing:L-0001", "--source",
                         "user_report", "--reporter", "buyer-9", "--text", "fake rolex")
    assert (ref["outcome"], ref["state"], ref["queue"], ref["priority"]) == (
        "opened", "queued", "ip", "P1")
    case_id = ref["case_id"]
    await eventually(lambda: dev.show(case_id), lambda c: c.state == "queued")

    listed = await cli_json(alice, "queue", "list", "ip")
    assert [c["case_id"] for c in listed] == [case_id]
    for key in ("case_id", "state", "queue", "priority", "assignee", "sla_deadline",
                "sla_breached", "subject"):
        assert key in listed[0]
    assert [c["case_id"] for c in await cli_json(alice, "queue", "list")] == [case_id]

    claimed = await cli_json(alice, "queue", "claim", "ip")
    assert (claimed["case_id"], claimed["state"], claimed["assignee"]) == (
        case_id, "in_review", "alice")

    decided = await cli_json(alice, "case", "decide", case_id, "--policy", "counterfeit",
                             "--action", "remove", "--reason", "Replica watch sold as genuine")
    assert decided["state"] in ("decided", "enforcing", "notifying", "appealable")

    shown = await eventually(lambda: cli_json(alice, "case", "show", case_id),
                             lambda c: c["state"] == "appealable")
    assert shown["statement_puid"] and shown["appeal_deadline"]
    subject = Subject.parse("listing:L-0001")
    assert sandbox.enforcement_count(subject, Action.REMOVE) == 1
    assert sandbox.show(subject)["status"] == "removed"

    out = settings.data_dir / "sor.jsonl"
    await run_cli(sam, "statements", "export", "--out", str(out))  # an overseer's export
    [sor] = [json.loads(line) for line in out.read_text().splitlines()]
    assert sor["puid"] == shown["statement_puid"]
    assert sor["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert sor["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert sor["automated_decision"] == "AUTOMATED_DECISION_PARTIALLY"  # a person, on rule hits
    assert sor["automated_detection"] == "No"  # a user's notice
    assert sor["source_type"] == "SOURCE_ARTICLE_16"

    timeline = await cli_json(alice, "case", "timeline", case_id)
    events = [e["event"] for e in timeline]
    assert events[:3] == ["opened", "screened", "queued"]
    assert {"claimed", "decided", "enforced", "seller_notified", "appealable"} <= set(events)

    # Ops find it with the Temporal CLI itself, by search attributes alone.
    listing = subprocess.run(
        [devserver.binary("temporal"), "workflow", "list", "--address",
         env["TEMPORAL_ADDRESS"], "--output", "json", "--query",
         f"CaseState = 'appealable' AND CaseQueue = 'ip' AND CasePolicyIds = 'counterfeit' "
         f"AND CaseAssignee = 'alice' AND CaseSubjectId = 'L-0001' AND CaseId = '{case_id}'"],
        capture_output=True, text=True, timeout=60, check=True)
    found = [w["execution"]["workflowId"] for w in json.loads(listing.stdout)]
    assert found == [case_id]


async def test_bad_input_is_one_line_and_nonzero(dev: CaseworkClient, dev_env: WorkflowEnvironment,
                                                settings: Settings, api_url: str) -> None:
    env = cli_env(dev_env, settings)
    market, alice, bob, ops, sam = people(env, api_url, dev, "marketplace", "alice", "bob",
                                          "ops-1", "sam")
    ref = await dev.open_case("listing:L-0015", "user_report", reporter="buyer-5")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    stranger = {**env, "CASEWORK_API_URL": api_url, "CASEWORK_TOKEN": "cw_nope_nope",
                "CASEWORK_CONFIG_DIR": "/nonexistent"}
    nobody = {**env, "CASEWORK_TOKEN": "", "CASEWORK_CONFIG_DIR": "/nonexistent"}
    cases = [
        (market, ["case", "open", "--subject", "listing", "--source", "user_report"], 2,
         "malformed subject"),
        (market, ["case", "open", "--subject", "listing:L-1", "--source", "gossip"], 2,
         "unknown source"),
        (alice, ["case", "decide", ref.case_id, "--policy", "weapons", "--action", "obliterate",
                 "--reason", "x"], 2, "actions.0"),
        (alice, ["case", "decide", ref.case_id, "--policy", "no-such-policy", "--action",
                 "remove", "--reason", "x"], 2, "unknown policy"),
        (bob, ["case", "decide", ref.case_id, "--policy", "weapons", "--action", "remove",
               "--reason", "x"], 3, "only the assignee"),
        (stranger, ["case", "show", ref.case_id], 3, "unknown, revoked or expired"),
        (nobody, ["case", "show", ref.case_id], 3, "not signed in"),
        (ops, ["queue", "claim", "ip"], 3, "'ops-1' lacks the reviewer role"),
        (env, ["reviewer", "add", "zoe", "--name", "Zoe", "--role", "boss"], 2,
         "unknown role(s) boss; known: reviewer, senior, appeals"),
        (env, ["reviewer", "add", "zoe", "--name", "Zoe", "--role", "reviewer", "--queue",
               "ipp"], 2, "unknown queue 'ipp'"),
        (env, ["reviewer", "add", "sla-clock", "--name", "Clock", "--role", "reviewer"], 2,
         "a name casework acts under"),
        (env, ["reviewer", "disable", "zoe"], 4, "unknown person 'zoe'"),
        (bob, ["queue", "claim", "no-such-queue"], 2, "unknown queue"),
        (bob, ["queue", "claim", "hate"], 5, "no unassigned case"),
        (alice, ["case", "show", "case-listing-NOPE"], 4, "no review case"),
        (alice, ["case", "show", ref.case_id, "--api", "http://127.0.0.1:1"], 6,
         "did not answer"),
        (market, ["case", "open", "--subject", "listing:L-0015\n", "--source", "user_report"],
         2, "malformed subject"),
        (market, ["case", "open", "--subject", "listing:L-0015", "--source", "user_report",
                  "--reporter", "bob\u202egpj.exe"], 2, "bidirectional"),
        (market, ["case", "open", "--subject", "listing:L-0015", "--source", "user_report",
                  "--request-id", "r-1\x1b[2J"], 2, "control"),
        (market, ["case", "open", "--subject", "listing:L-0015", "--source", "user_report",
                  "--text", "x" * 5001], 2, "at most 5000"),
        (ops, ["case", "retry", ref.case_id, "--reason", "x"], 3, "cannot retry"),
        (alice, ["queue", "list", "no-such-queue"], 2, "unknown queue"),
        (sam, ["statements", "export", "--out", "/nonexistent/dir/sor.jsonl"], 2,
         "cannot write"),
    ]
    for who, argv, code, text in cases:
        proc = await run_cli(who, *argv, ok=False)
        assert proc.returncode == code, (argv, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and text in proc.stderr, proc.stderr
        assert proc.stdout == ""
    case = await dev.show(ref.case_id)
    assert case.state == "in_review" and case.decision is None and case.assignee == "alice"
    assert len(case.reports) == 1 and case.revision == 4  # opened, screened, queued, claimed


async def test_public_text_is_escaped_and_commands_answer_small(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings,
        api_url: str) -> None:
    market, alice = people(cli_env(dev_env, settings), api_url, dev, "marketplace", "alice")
    hostile = "gpj.\u202eexe and \u2066isolated\u2069 <script>x</script>"
    ref = await dev.open_case("listing:L-0015", "user_report", reporter="buyer-5", text=hostile)
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    shown = (await run_cli(alice, "case", "show", ref.case_id)).stdout
    assert "\u202e" not in shown and "\u2066" not in shown
    assert "gpj.\\u202eexe and \\u2066isolated\\u2069 <script>x</script>" in shown
    assert (await cli_json(alice, "case", "show", ref.case_id))["reports"][0]["text"] == hostile
    refused = await run_cli(market, "case", "open", "--subject", "listing:L-0015", "--source",
                            "user_report", "--text", "clear\x1b[2Jscreen", ok=False)
    assert refused.returncode == 2 and "control characters" in refused.stderr
    claimed = await cli_json(alice, "case", "claim", ref.case_id)
    assert "timeline" not in claimed and "reports" not in claimed
    assert (claimed["state"], claimed["assignee"]) == ("in_review", "alice")


async def test_lifecycle_diagram_is_drawn_from_the_declaration(dev_env: WorkflowEnvironment,
                                                               settings: Settings) -> None:
    proc = await run_cli(cli_env(dev_env, settings), "lifecycle", "review", "--format", "mermaid")
    from domain.review.lifecycle import REVIEW_STATES

    assert "stateDiagram-v2" in proc.stdout
    for state in REVIEW_STATES:
        assert f'state "{state}"' in proc.stdout
    assert "in_review --> decided: decide [decide_allowed]" in proc.stdout


async def test_ledger_rebuild_writes_queue_audit_and_statements_again(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings) -> None:
    restricted = await dev.open_case("listing:L-0001", "user_report", reporter="buyer-1")
    cleared = await dev.open_case("listing:L-0100", "user_report", reporter="buyer-2")
    waiting = await dev.open_case("listing:L-0033", "user_report", reporter="buyer-3")
    for ref, policies, actions in ((restricted, ["counterfeit"], ["remove"]),
                                   (cleared, [], ["no_action"])):
        await eventually(lambda r=ref: dev.show(r.case_id), lambda c: c.state == "queued")
        await dev.claim(ref.case_id, "alice")
        await dev.decide(ref.case_id, "alice", policies, actions, "rebuild test")
    await eventually(lambda: dev.show(restricted.case_id), lambda c: c.state == "appealable")
    await eventually(lambda: dev.show(waiting.case_id), lambda c: c.state == "queued")
    closed = await eventually(lambda: dev.temporal.get_workflow_handle(cleared.case_id)
                              .describe(), lambda d: d.status.name == "COMPLETED")
    assert closed.status is not None
    appeal = await dev.file_appeal(restricted.case_id, "genuine")  # every lifecycle is rebuilt
    esc = await dev.open_escalation("seller:U-03", "press", "A journalist asks", "P2")
    await eventually(lambda: dev.appeal(appeal.appeal_id), lambda a: a.state == "queued")
    await eventually(lambda: dev.show_escalation(esc.escalation_id), lambda e: e.sla_deadline)
    before = dev.ledger.dump()
    assert {(r["lifecycle"], r["state"]) for r in before["cases"]} == {
        ("review", "appealed"), ("review", "closed"), ("review", "queued"),
        ("appeal", "queued"), ("escalation", "open")}
    assert len(before["statements"]) == 1 and len(before["decisions"]) == 2  # reports too

    env = cli_env(dev_env, settings)
    rebuilt = await cli_json(env, "ledger", "rebuild", "--fresh")
    assert (rebuilt["cases"], rebuilt["statements"], rebuilt["unreadable"]) == (5, 1, [])
    assert dev.ledger.dump() == before
    # A ledger that lost rows (say, restored from last night's backup) while cases ran on:
    dev.ledger.clear_derived()
    await dev.open_case("listing:L-0033", "user_report", reporter="buyer-4")  # a new event
    await cli_json(env, "ledger", "rebuild")
    after = dev.ledger.dump()
    assert len(after["audit"]) == len(before["audit"]) + 1
    assert [r for r in after["cases"] if r["case_id"] != waiting.case_id] == [
        r for r in before["cases"] if r["case_id"] != waiting.case_id]


async def test_direct_commands_find_temporal_on_make_runs_port(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings) -> None:
    """Without TEMPORAL_ADDRESS, a direct command connects where `make run` starts Temporal:
    localhost:$CASEWORK_TEMPORAL_PORT (7233 unset); TEMPORAL_ADDRESS still wins."""
    env = cli_env(dev_env, settings)
    address = env.pop("TEMPORAL_ADDRESS")
    port = address.rsplit(":", 1)[1]
    rebuilt = await cli_json({**env, "CASEWORK_TEMPORAL_PORT": port}, "ledger", "rebuild")
    assert rebuilt["unreadable"] == []
    nobody = str(free_port())
    refused = await run_cli({**env, "CASEWORK_TEMPORAL_PORT": nobody}, "ledger", "rebuild",
                            ok=False)
    assert refused.returncode == 6 and f"cannot reach Temporal at localhost:{nobody}" in (
        refused.stderr)
    await cli_json({**env, "CASEWORK_TEMPORAL_PORT": nobody, "TEMPORAL_ADDRESS": address},
                   "ledger", "rebuild")
    helped = await run_cli(env, "ledger", "rebuild", "--help")
    assert "localhost:$CASEWORK_TEMPORAL_PORT" in " ".join(helped.stdout.split())


async def test_reviewer_list_add_disable(dev: CaseworkClient, dev_env: WorkflowEnvironment,
                                         settings: Settings, api_url: str) -> None:
    env = cli_env(dev_env, settings)
    listed = await cli_json(env, "reviewer", "list")
    assert {"alice", "ops-1"} <= {p["id"] for p in listed}
    assert {"id", "name", "roles", "queues", "active"} <= set(listed[0])
    added = await cli_json(env, "reviewer", "add", "zoe", "--name", "Zoe Adams", "--role",
                           "senior", "--role", "reviewer", "--queue", "ip", "--queue", "hate")
    assert (added["id"], added["roles"], added["queues"], added["active"]) == (
        "zoe", ["reviewer", "senior"], ["hate", "ip"], True)

    ref = await dev.open_case("listing:L-0001", "user_report", reporter="buyer-9")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    [zoe] = people(env, api_url, dev, "zoe")
    disabled = await cli_json(env, "reviewer", "disable", "zoe")
    assert not disabled["active"]
    assert await cli_json(env, "reviewer", "disable", "zoe") == disabled  # again: nothing changes
    assert "disabled" in (await run_cli(env, "reviewer", "list")).stdout
    refused = await run_cli(zoe, "queue", "claim", "ip", ok=False)  # her token died with her
    assert refused.returncode == 3 and "revoked" in refused.stderr

    again = await cli_json(env, "reviewer", "add", "zoe", "--name", "Zoe Adams", "--role",
                           "reviewer", "--queue", "ip")
    assert (again["active"], again["roles"], again["created_at"]) == (
        True, ["reviewer"], added["created_at"])
    still = await run_cli(zoe, "queue", "claim", "ip", ok=False)  # and stays dead
    assert still.returncode == 3 and "revoked" in still.stderr
    [zoe] = people(env, api_url, dev, "zoe")
    claimed = await cli_json(zoe, "queue", "claim", "ip")
    assert (claimed["case_id"], claimed["assignee"]) == (ref.case_id, "zoe")


async def test_login_refresh_and_logout(dev: CaseworkClient, dev_env: WorkflowEnvironment,
                                        settings: Settings, api_url: str,
                                        tmp_path: Path) -> None:
    """Like `gh auth login`: a person's password for a token kept for them alone; refreshed,
    the old one ends; signed out, the kept one ends and is forgotten."""
    Credentials(dev.ledger).set_password("alice", "alice-password-123")
    folder = tmp_path / "config"
    env = {**cli_env(dev_env, settings), "CASEWORK_CONFIG_DIR": str(folder),
           "CASEWORK_API_URL": api_url}
    env.pop("CASEWORK_TOKEN", None)
    wrong = await run_cli(env, "login", "--user", "alice", stdin="not-her-password\n", ok=False)
    assert wrong.returncode == 3 and "wrong name or password" in wrong.stderr
    signed = json.loads((await run_cli(env, "login", "--user", "alice", "--json",
                                       stdin="alice-password-123\n")).stdout)
    kept = folder / "credentials.json"
    assert signed["person"] == "alice" and signed["saved"] == str(kept)
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    first = json.loads(kept.read_text())["token"]
    assert (await cli_json(env, "whoami"))["id"] == "alice"

    await run_cli(env, "login", "--refresh")
    second = json.loads(kept.read_text())["token"]
    assert second != first
    creds = Credentials(dev.ledger)
    assert creds.principal(first) is None and creds.principal(second) is not None
    assert (await cli_json(env, "whoami"))["id"] == "alice"

    await run_cli(env, "logout")
    assert not kept.exists() and creds.principal(second) is None
    gone = await run_cli(env, "whoami", ok=False)
    assert gone.returncode == 3 and "not signed in" in gone.stderr

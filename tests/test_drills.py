"""Drills on the dev server: the sandbox marketplace fails on purpose (set through the `casework`
CLI, in another process than the worker) and a decided restriction still lands exactly once."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from config.settings import Settings
from domain.core import Action, Subject
from domain.review.models import CaseState
from marketplace.sandbox import SandboxMarketplace
from tests.helpers import eventually
from tests.test_e2e_cli import cli_env, cli_json, run_cli

SUBJECT = Subject.parse("listing:L-0019")  # brass knuckles


async def _decide_with_drill(dev: CaseworkClient, env: dict[str, str], *drill: str) -> str:
    """Open and claim a case, start the drill through the CLI, then decide a removal."""
    ref = await dev.open_case(SUBJECT, "user_report", reporter="buyer-3", text="knuckles")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    fault = await cli_json(env, "sandbox", "fail", "apply_action", *drill)
    assert fault["operation"] == "apply_action"
    await dev.decide(ref.case_id, "alice", ["weapons"], ["remove"], "brass knuckles")
    return ref.case_id


async def _state(dev: CaseworkClient, case_id: str, state: str) -> CaseState:
    return await eventually(lambda: dev.show(case_id), lambda c: c.state == state, timeout=60,
                            interval=0.25)


async def _pending_apply(dev: CaseworkClient, case_id: str) -> Any:
    desc = await dev.temporal.get_workflow_handle(case_id).describe()
    return next((a for a in desc.raw_description.pending_activities
                 if a.activity_type.name == "apply_action"), None)


@pytest.mark.parametrize("mode", ["timeout", "garbage"])
async def test_an_action_that_landed_unseen_is_retried_and_applied_once(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings,
        sandbox: SandboxMarketplace, mode: str) -> None:
    case_id = await _decide_with_drill(dev, cli_env(dev_env, settings), "--mode", mode,
                                       "--for", "3")
    case = await _state(dev, case_id, "appealable")
    assert sandbox.enforcement_count(SUBJECT, Action.REMOVE) == 1
    [result] = case.enforcement
    assert result.applied is False and "already applied" in result.detail  # the retry's answer
    assert case.statement_puid is not None
    assert not [e for e in case.timeline if e.event == "action_failed"]


async def test_an_unavailable_marketplace_is_retried_until_healed(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings,
        sandbox: SandboxMarketplace) -> None:
    env = cli_env(dev_env, settings)
    case_id = await _decide_with_drill(dev, env, "--mode", "error")
    pending = await eventually(lambda: _pending_apply(dev, case_id),
                               lambda a: a is not None and a.attempt >= 2)
    assert pending.last_failure.application_failure_info.type == "MarketplaceUnavailable"
    assert sandbox.enforcement_count(SUBJECT, Action.REMOVE) == 0
    assert (await dev.show(case_id)).state == "enforcing"

    healed = await cli_json(env, "sandbox", "heal", "apply_action")
    assert healed == {"healed": [{"operation": "apply_action", "mode": "error", "until": None}]}
    case = await _state(dev, case_id, "appealable")
    assert sandbox.enforcement_count(SUBJECT, Action.REMOVE) == 1
    [result] = case.enforcement
    assert result.applied is True
    assert sandbox.show(SUBJECT)["status"] == "removed"


async def test_a_refusal_is_final_and_recorded(dev: CaseworkClient, dev_env: WorkflowEnvironment,
                                               settings: Settings,
                                               sandbox: SandboxMarketplace) -> None:
    case_id = await _decide_with_drill(dev, cli_env(dev_env, settings), "--mode", "refuse")
    case = await _state(dev, case_id, "closed")
    failed = [e for e in case.timeline if e.event == "action_failed"]
    assert len(failed) == 1 and "refused" in failed[0].detail, case.timeline
    assert case.enforcement == [] and case.statement_puid is None
    assert sandbox.enforcement_count(SUBJECT, Action.REMOVE) == 0
    events = (await dev.temporal.get_workflow_handle(case_id).fetch_history()).events
    applies = {e.event_id for e in events
               if e.activity_task_scheduled_event_attributes.activity_type.name == "apply_action"}
    [started] = [e.activity_task_started_event_attributes for e in events
                 if e.activity_task_started_event_attributes.scheduled_event_id in applies]
    assert started.attempt == 1, started  # not retried
    [failure] = [e.activity_task_failed_event_attributes.failure for e in events
                 if e.activity_task_failed_event_attributes.scheduled_event_id in applies]
    assert failure.application_failure_info.type == "ActionRefused"
    assert failure.application_failure_info.non_retryable


async def test_drill_commands_answer_in_one_line(dev_env: WorkflowEnvironment,
                                                settings: Settings) -> None:
    env = cli_env(dev_env, settings)
    for argv, text in [(["sandbox", "fail", "payments"], "unknown operation 'payments'"),
                       (["sandbox", "fail", "facts", "--mode", "flaky"], "unknown mode 'flaky'"),
                       (["sandbox", "fail", "facts", "--for", "-1"], "positive number"),
                       (["sandbox", "heal", "payments"], "unknown operation 'payments'")]:
        proc = await run_cli(env, *argv, ok=False)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and text in proc.stderr, proc.stderr
    facts = await cli_json(env, "sandbox", "fail", "facts", "--mode", "garbage", "--for", "60")
    assert (facts["operation"], facts["mode"]) == ("facts", "garbage") and facts["until"]
    await cli_json(env, "sandbox", "fail", "seller_contact")
    healed = await cli_json(env, "sandbox", "heal")
    assert sorted(f["operation"] for f in healed["healed"]) == ["facts", "seller_contact"]
    assert await cli_json(env, "sandbox", "heal") == {"healed": []}
    assert "seller_contact fails (timeout)" in (await run_cli(
        env, "sandbox", "fail", "seller_contact", "--mode", "timeout")).stdout

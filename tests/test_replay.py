"""Every recorded history still replays on today's workflow code (no non-determinism)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

import worker as worker_module
from config.codec import ENCRYPTED
from domain.core import Report
from domain.review.models import CaseInput, Screening
from tests.helpers import CONVERTER
from workflows.parts.trust import Trust

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_histories_are_recorded() -> None:
    assert len(HISTORIES) >= 3


def test_histories_recorded_since_encryption_are_encrypted() -> None:
    """Older histories hold clear payloads (the codec passes them through); newer ones are
    sealed under the committed test key, so replaying them exercises decryption too."""
    text = (HISTORIES[0].parent / "payloads_encrypted_no_action.json").read_text()
    assert base64.b64encode(ENCRYPTED).decode() in text


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_replays_without_nondeterminism(path: Path) -> None:
    replayer = Replayer(workflows=worker_module.WORKFLOWS, data_converter=CONVERTER,
                        interceptors=[Trust()])
    history = WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


async def _clear_payloads(name: str, event_type: str) -> list[dict]:
    """The JSON payloads of one kind of event in a recorded history, decrypted."""
    history = WorkflowHistory.from_json(name, (HISTORIES[0].parent / f"{name}.json").read_text())
    assert CONVERTER.payload_codec is not None
    out = []
    for event in history.events:
        if event.event_type != event_type:
            continue
        attrs = getattr(event, event.WhichOneof("attributes"))
        payloads = (attrs.input if hasattr(attrs, "input") else attrs.result).payloads
        for p in await CONVERTER.payload_codec.decode(list(payloads)):
            out.append(json.loads(p.data))
    return out


async def test_a_history_holding_fields_this_version_does_not_know_replays() -> None:
    """A field removed between versions (or added by a newer client): ignored on decoding."""
    [start] = await _clear_payloads("report_from_a_newer_client",
                                    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED)
    assert start["priority_hint"] == "P1" and start["report"]["channel"] == "app"
    assert "priority_hint" not in CaseInput.model_fields
    assert "channel" not in Report.model_fields


async def test_a_history_lacking_fields_this_version_added_replays() -> None:
    """Screening results recorded before the pinned facts and source floors existed."""
    results = await _clear_payloads("reviewed_removed_closed",
                                    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
    screening = next(r for r in results if isinstance(r, dict) and "hits" in r)
    assert "facts" not in screening and "source_floors" not in screening
    assert {"facts", "source_floors"} <= set(Screening.model_fields)


async def test_a_case_accepted_under_older_intake_rules_still_replays() -> None:
    """The previous version accepted report texts up to 20,000 characters, any reporter string
    and subject ids followed by a newline; this one refuses them at intake, yet the cases it
    accepted must replay. Recorded history, its start input as that version could have sent it."""
    path = HISTORIES[0].parent / "reviewed_removed_closed.json"
    data = json.loads(path.read_text())
    attrs = data["events"][0]["workflowExecutionStartedEventAttributes"]
    [payload] = attrs["input"]["payloads"]
    start = json.loads(base64.b64decode(payload["data"]))
    opener = start["report"]["report_id"]
    start["subject"]["id"] += "\n"
    start["report"].update(text="x" * 6_000, reporter="buyer 1 ")
    payload["data"] = base64.b64encode(json.dumps(start).encode()).decode()
    for event in data["events"]:  # the opener's own file_report Update carries it too
        accepted = event.get("workflowExecutionUpdateAcceptedEventAttributes")
        if accepted and accepted["acceptedRequest"]["input"]["name"] == "file_report":
            [arg] = accepted["acceptedRequest"]["input"]["args"]["payloads"]
            if json.loads(base64.b64decode(arg["data"]))["report_id"] == opener:
                arg["data"] = base64.b64encode(json.dumps(start["report"]).encode()).decode()
    replayer = Replayer(workflows=worker_module.WORKFLOWS, data_converter=CONVERTER,
                        interceptors=[Trust()])
    result = await replayer.replay_workflow(
        WorkflowHistory.from_json("older-rules", json.dumps(data)), raise_on_replay_failure=True)
    assert result.replay_failure is None

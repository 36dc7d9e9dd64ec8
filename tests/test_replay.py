"""Every recorded history still replays on today's workflow code (no non-determinism)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

import worker as worker_module
from client.codec import ENCRYPTED
from tests.helpers import CONVERTER

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
    replayer = Replayer(workflows=worker_module.WORKFLOWS, data_converter=CONVERTER)
    history = WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None

"""Once an action has landed, its statement of reasons, the seller's notice and the appeal window
always follow, whatever happens to the pack or the marketplace meanwhile."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

import worker as worker_module
from client.api import CaseworkClient
from domain.models import Action, Subject
from marketplace.sandbox import SandboxMarketplace
from stack.settings import ROOT, Settings
from tests.helpers import eventually


@pytest.fixture
async def slow_enforcement(dev_env: WorkflowEnvironment, settings: Settings,
                           executor: concurrent.futures.ThreadPoolExecutor
                           ) -> AsyncIterator[CaseworkClient]:
    """A worker whose marketplace holds each action for 3 s, reading a pack of the test's own."""
    pack = settings.data_dir / "pack.toml"
    shutil.copy(ROOT / "policies" / "pack.toml", pack)
    own = dataclasses.replace(settings, policy_pack=pack, sandbox_apply_delay_s=3.0)
    async with worker_module.build_worker(dev_env.client, own, executor):
        yield CaseworkClient(dev_env.client, own)


def _drop_policy(pack: Path, policy_id: str) -> None:
    """Remove one `[[policies]]` block (and its rules) from a pack file."""
    blocks = pack.read_text().split("[[policies]]")
    kept = [b for b in blocks[1:] if not b.lstrip().startswith(f'id = "{policy_id}"')]
    assert len(kept) == len(blocks) - 2
    pack.write_text("[[policies]]".join([blocks[0], *kept]))


async def test_a_pack_edit_removing_the_cited_policy_leaves_the_statement_intact(
        slow_enforcement: CaseworkClient, sandbox: SandboxMarketplace) -> None:
    cw = slow_enforcement
    ref = await cw.open_case("listing:L-0001", "user_report", reporter="buyer-1")
    await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "queued")
    await cw.claim(ref.case_id, "alice")
    await cw.decide(ref.case_id, "alice", ["counterfeit"], ["remove"], "replica watch")
    await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "enforcing")
    _drop_policy(cw.settings.policy_pack, "counterfeit")  # reviewed edit lands meanwhile
    assert "counterfeit" not in cw.pack().by_id

    case = await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "appealable",
                            timeout=30)
    assert case.decision is not None
    [cited] = case.decision.citations
    assert (cited.id, case.decision.pack_version) == ("counterfeit", case.pack_version)
    [sor] = [s for s in cw.statements() if s["puid"] == case.statement_puid]
    assert sor["category"] == cited.category == "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    assert sor["illegal_content_legal_ground"] == cited.legal_reference
    assert sandbox.enforcement_count(Subject.parse("listing:L-0001"), Action.REMOVE) == 1
    assert case.appeal_deadline is not None

"""Record review-workflow histories for the replay test: `python -m tests.histories.record`.

Runs each scenario on a time-skipping server and writes `<scenario>.json` beside this file,
only where that file does not exist yet (`--force` overwrites): committed histories stand for
workflows already running, and guard them against new code. Add a scenario for new behaviour.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

import worker as worker_module
from client.api import CaseworkClient
from marketplace import demo
from marketplace.sandbox import SandboxMarketplace
from stack import devserver
from stack.settings import Settings
from tests.conftest import add_search_attributes
from tests.helpers import CONVERTER, eventually

HERE = Path(__file__).parent


async def scenarios(c: CaseworkClient, env: WorkflowEnvironment) -> dict[str, str]:
    out: dict[str, str] = {}

    ref = await c.open_case("listing:L-0001", "user_report", reporter="b1", text="fake")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await c.open_case("listing:L-0001", "trusted_flagger", reporter="tf", text="counterfeit")
    await c.claim(ref.case_id, "alice")
    await c.decide(ref.case_id, "alice", ["counterfeit"], ["remove"], "replica")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    await env.sleep(timedelta(days=181))
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "closed")
    out["reviewed_removed_closed"] = ref.case_id

    ref = await c.open_case("listing:L-0003", "classifier", text="image match")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    out["auto_actioned"] = ref.case_id

    ref = await c.open_case("listing:L-0049", "user_report", reporter="b2")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await c.claim(ref.case_id, "bob", lease_minutes=10)
    await env.sleep(timedelta(minutes=11))
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "queued")
    await env.sleep(timedelta(hours=25))
    await eventually(lambda: c.show(ref.case_id), lambda s: s.sla_breached)
    await c.claim(ref.case_id, "carol")
    await c.decide(ref.case_id, "carol", [], ["no_action"], "legal antique with permit")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "closed")
    out["lease_expired_breached_no_action"] = ref.case_id

    ref = await c.open_case("listing:L-0054", "user_report", reporter="b3")
    await c.open_case("listing:L-0054", "trusted_flagger", reporter="tf-2", text="CITES")
    await c.claim(ref.case_id, "dana")
    await c.decide(ref.case_id, "dana", ["wildlife"], ["remove"], "tortoiseshell")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    out["trusted_flagger_joined_reprioritised"] = ref.case_id

    ref = await c.open_case("listing:L-0037", "trusted_flagger", reporter="tf-3", text="drugs")
    await c.claim(ref.case_id, "erin")
    await c.decide(ref.case_id, "erin", ["drugs"], ["remove", "warn"], "no prescription")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "appealable")
    out["intake_attributes_at_start"] = ref.case_id

    ref = await c.open_case("listing:L-0100", "user_report", reporter="b4",
                            text="colour is wrong, call me on 0170-5550199")
    await c.claim(ref.case_id, "fay")
    await c.decide(ref.case_id, "fay", [], ["no_action"], "colour as described")
    await eventually(lambda: c.show(ref.case_id), lambda s: s.state == "closed")
    out["payloads_encrypted_no_action"] = ref.case_id
    return out


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), ledger_url=f"sqlite:///{tmp}/ledger.db")
        SandboxMarketplace(settings.sandbox_db).load(*demo.generate())
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=devserver.binary("temporal-test-server"),
            data_converter=CONVERTER)
        await add_search_attributes(env.client)
        with concurrent.futures.ThreadPoolExecutor(32) as ex:
            async with worker_module.build_worker(env.client, settings, ex):
                client = CaseworkClient(env.client, settings)
                for name, case_id in (await scenarios(client, env)).items():
                    path = HERE / f"{name}.json"
                    if path.exists() and "--force" not in sys.argv:
                        continue
                    history = await env.client.get_workflow_handle(case_id).fetch_history()
                    path.write_text(history.to_json())
                    print(f"recorded {name}: {len(history.events)} events")
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())

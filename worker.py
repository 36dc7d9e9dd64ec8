"""The casework worker: runs review and escalation workflows and their activities on the
`casework` queue.

Connects through Temporal's environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY, TLS settings, profiles); scale out by running more of these processes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import sys
from collections.abc import Sequence

from temporalio.client import Client
from temporalio.worker import PollerBehaviorAutoscaling, Worker

from activities.case_activities import CaseActivities
from activities.escalation import EscalationActivities
from activities.intake import IntakeActivities
from activities.shop_review import ShopReviewActivities
from activities.takedown import TakedownActivities
from activities.trends import TrendActivities
from config.codec import Keyring
from config.pack_file import PackFile
from config.settings import Settings
from domain.errors import CaseworkError
from ledger.store import Ledger
from marketplace.configured import build_marketplace
from workflows.appeal import AppealWorkflow
from workflows.escalation import EscalationWorkflow
from workflows.parts.trust import Trust
from workflows.qa import QaWorkflow
from workflows.review import ReviewWorkflow
from workflows.shop_review import ShopReviewWorkflow
from workflows.takedown import TakedownWorkflow
from workflows.trends import TrendScanWorkflow

WORKFLOWS = [ReviewWorkflow, AppealWorkflow, EscalationWorkflow, TakedownWorkflow,
             ShopReviewWorkflow, QaWorkflow, TrendScanWorkflow]


def build_activities(settings: Settings) -> CaseActivities:
    settings.check_worker()
    return CaseActivities(
        ledger=Ledger(settings.ledger_url),
        marketplace=build_marketplace(settings),
        pack=PackFile(settings.policy_pack),
        webhook_url=settings.webhook_url,
        webhook_secret=settings.webhook_secret,
        qa_key=Keyring.configured(settings).derived("qa-draw"),
    )


def use_bytecode_cache(settings: Settings) -> None:
    """The sandbox re-imports workflow modules for every run: let it reuse compiled bytecode
    even where PYTHONDONTWRITEBYTECODE is set, kept out of the source tree."""
    sys.dont_write_bytecode = False
    sys.pycache_prefix = sys.pycache_prefix or str(settings.data_dir / "pycache")


def build_worker(client: Client, settings: Settings,
                 executor: concurrent.futures.ThreadPoolExecutor,
                 workflows: Sequence[type] = tuple(WORKFLOWS)) -> Worker:
    cases = build_activities(settings)
    escalations = EscalationActivities(client, cases.pack, settings.task_queue,
                                       settings.case_prefix)
    takedowns = TakedownActivities(cases.ledger, cases.marketplace, cases.pack, client)
    shops = ShopReviewActivities(cases.ledger, cases.marketplace, cases.pack, client,
                                 settings.task_queue, settings.case_prefix)
    trends = TrendActivities(client, cases.ledger, cases.pack, settings.task_queue,
                             settings.case_prefix)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(workflows),
        activities=[*cases.all(), IntakeActivities(client).forward_report, *escalations.all(),
                    *takedowns.all(), *shops.all(), *trends.all()],
        activity_executor=executor,
        max_concurrent_activities=32,
        max_cached_workflows=int(os.environ.get("CASEWORK_MAX_CACHED_WORKFLOWS", "1000")),
        workflow_task_poller_behavior=PollerBehaviorAutoscaling(),
        interceptors=[Trust()],  # each command taken once (workflows/parts/trust.py)
    )


async def run(settings: Settings | None = None, address: str | None = None,
              profile: str | None = None) -> None:
    """Metrics served (CASEWORK_METRICS_ADDRESS) and tracing started before connecting: the
    client's runtime records the SDK's metrics, and the client carries the tracing interceptor
    to the worker."""
    from config.connection import connect
    from config.telemetry import exported

    settings = settings or Settings()
    settings.check_worker()  # before connecting: a misconfigured worker says so at once
    with exported("worker", settings.metrics_address):
        client = await connect(profile=profile, address=address, settings=settings)
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as executor:
            worker = build_worker(client, settings, executor)
            logging.getLogger("casework").info("worker polling %s", settings.task_queue)
            await worker.run()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    use_bytecode_cache(Settings())
    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    except CaseworkError as e:  # one line, as `casework worker` says it
        sys.exit(f"worker: {type(e).__name__.lower()}: {e}")


if __name__ == "__main__":
    main()

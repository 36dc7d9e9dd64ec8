"""Fixtures: real Temporal servers from PyPI (no downloads), a data folder per test, a throwaway
PostgreSQL cluster with a database per test."""

from __future__ import annotations

import concurrent.futures
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

import worker as worker_module
from client.casework import CaseworkClient
from config import search_attributes
from config.settings import Settings
from marketplace import demo
from marketplace.sandbox import SandboxMarketplace
from stack import devserver
from tests import pg
from tests.helpers import CONVERTER, TEST_KEYS, seed_directory, serving

# Every worker and `make run` a test starts serves its metrics on a free port of its own (the
# default, 127.0.0.1:9464, is one per machine); tests that scrape one name its address.
os.environ.setdefault("CASEWORK_METRICS_ADDRESS", "127.0.0.1:0")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Tests share one dev server: a queue and a case-id prefix of their own keep them apart.
    tag = uuid.uuid4().hex[:8]
    s = Settings(data_dir=tmp_path, ledger_url=f"sqlite:///{tmp_path / 'ledger.db'}",
                 task_queue=f"casework-{tag}", case_prefix=f"t{tag}",
                 codec_keys="", codec_keys_file=str(TEST_KEYS))
    SandboxMarketplace(s.sandbox_db).load(*demo.generate())
    seed_directory(s.ledger_url)
    return s


@pytest.fixture
def sandbox(settings: Settings) -> SandboxMarketplace:
    return SandboxMarketplace(settings.sandbox_db)


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=devserver.binary("temporal"),
        search_attributes=search_attributes.ALL,
        data_converter=CONVERTER,
        dev_server_extra_args=devserver.extra_args(),
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of its own for each test (a shared one can hang)."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=devserver.binary("temporal-test-server"),
        data_converter=CONVERTER,
    )
    await add_search_attributes(env.client)
    yield env
    await env.shutdown()


async def add_search_attributes(client: Client) -> None:
    types = {"KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
             "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
             "BOOL": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
             "KEYWORD_LIST": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST}
    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=client.namespace,
        search_attributes={k.name: types[k.indexed_value_type.name]
                           for k in search_attributes.ALL}))


@pytest.fixture
def executor() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=32) as ex:
        yield ex


async def _running(env: WorkflowEnvironment, settings: Settings,
                   executor: concurrent.futures.ThreadPoolExecutor
                   ) -> AsyncIterator[CaseworkClient]:
    async with worker_module.build_worker(env.client, settings, executor):
        yield CaseworkClient(env.client, settings)


@pytest.fixture
async def dev(dev_env: WorkflowEnvironment, settings: Settings,
              executor: concurrent.futures.ThreadPoolExecutor) -> AsyncIterator[CaseworkClient]:
    """A casework client on the dev server, with a worker running on the test's own queue."""
    async for c in _running(dev_env, settings, executor):
        yield c


@pytest.fixture
async def ts(ts_env: WorkflowEnvironment, settings: Settings,
             executor: concurrent.futures.ThreadPoolExecutor) -> AsyncIterator[CaseworkClient]:
    """The same on the time-skipping server."""
    async for c in _running(ts_env, settings, executor):
        yield c


@pytest.fixture
async def api_url(dev: CaseworkClient) -> AsyncIterator[str]:
    """casework's HTTP API and console on a free port, over the test's casework client."""
    async with serving(dev) as url:
        yield url


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[pg.Cluster | None]:
    """One throwaway PostgreSQL cluster for the session, or None when CASEWORK_TEST_PG_URL names
    a server to use instead."""
    if os.environ.get("CASEWORK_TEST_PG_URL"):
        yield None
        return
    with pg.throwaway_cluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster: pg.Cluster | None) -> Iterator[str]:
    """A PostgreSQL database of the test's own."""
    with pg.database(pg_cluster.url if pg_cluster else os.environ["CASEWORK_TEST_PG_URL"]) as url:
        yield url

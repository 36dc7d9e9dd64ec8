"""`casework setup` on a Temporal server `make run` did not start: a dev server started without
casework's search-attribute flags, prepared through the CLI process, then a real case on it; run
again, it adds nothing; bad input is one line, a non-zero exit and nothing registered."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCStatusCode

import worker as worker_module
from client.casework import CaseworkClient
from config import connection
from config.search_attributes import ALL
from config.settings import Settings
from domain.errors import NotFound, Refused, Unavailable
from stack import devserver
from tests.helpers import CONVERTER, eventually, free_port
from tests.test_e2e_cli import run_cli

NAMES = [k.name for k in ALL]


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A headless dev server with no casework attributes, and namespaces `conflict`, `racing`
    and `full` besides `default`: its address."""
    port = free_port()
    db = tmp_path_factory.mktemp("bare") / "temporal.db"
    server = subprocess.Popen(
        [*devserver.command(db, port, ui_port=None, attribute_flags=False),
         *(w for ns in ("conflict", "racing", "full") for w in ("--namespace", ns))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        devserver.wait_for_port(port, 60)
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def setup_env(tmp_path: Path, address: str, **more: str) -> dict[str, str]:
    """A fresh terminal's: Temporal from its environment configuration, and no payload keys
    (setup carries no payloads)."""
    fresh = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "TEMPORAL_"))}
    return {**fresh, "CASEWORK_DATA_DIR": str(tmp_path), "TEMPORAL_ADDRESS": address, **more}


async def custom(address: str, namespace: str) -> dict[str, int]:
    client = await Client.connect(address, namespace=namespace)
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace))
    return dict(listed.custom_attributes)


async def test_setup_prepares_a_server_make_run_did_not_start(
        bare: str, tmp_path: Path, settings: Settings,
        executor: concurrent.futures.ThreadPoolExecutor) -> None:
    assert not set(NAMES) & set(await custom(bare, "default"))
    env = setup_env(tmp_path, bare)

    first = await run_cli(env, "setup", "--json")
    said = json.loads(first.stdout)
    assert said["search_attributes"] == {"added": NAMES, "present": []}
    assert (said["address"], said["namespace"], said["ready"]) == (bare, "default", True)
    assert (said["tls"], said["api_key"]) == (False, False) and said["server_version"]
    assert {n: t for n, t in (await custom(bare, "default")).items() if n in NAMES} == {
        k.name: int(k.indexed_value_type) for k in ALL}

    # a case runs on it: opened, screened and queued, its attributes upserted and searchable
    client = await Client.connect(bare, data_converter=CONVERTER)
    async with worker_module.build_worker(client, settings, executor):
        cw = CaseworkClient(client, settings)
        ref = await cw.open_case("listing:L-0001", "user_report", reporter="buyer-1",
                                 text="fake watch")
        await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "queued")
        query = f"CaseId = '{ref.case_id}' AND CaseState = 'queued' AND CaseQueue != ''"
        await eventually(lambda: client.count_workflows(query), lambda n: n.count == 1)

    again = await run_cli(env, "setup")  # idempotent: all there, nothing to add
    assert f"search attributes added: none; already there: {len(ALL)}" in again.stdout
    assert again.stderr == ""


async def test_two_setups_at_once_both_finish(bare: str, tmp_path: Path) -> None:
    """Two deploy pipelines preparing one namespace together: both exit 0, each attribute is
    added once with its type."""
    env = setup_env(tmp_path, bare, TEMPORAL_NAMESPACE="racing")
    both = await asyncio.gather(*(run_cli(env, "setup", "--json") for _ in range(2)))
    for proc in both:
        attributes = json.loads(proc.stdout)["search_attributes"]
        assert sorted(attributes["added"] + attributes["present"]) == sorted(NAMES)
    assert await custom(bare, "racing") == {k.name: int(k.indexed_value_type) for k in ALL}


def one_line(proc: subprocess.CompletedProcess, code: int, *words: str) -> str:
    line = proc.stderr
    assert proc.returncode == code and line.count("\n") == 1 and proc.stdout == "", (
        proc.returncode, proc.stdout, line)
    assert all(w in line for w in words), line
    return line


async def test_bad_input_is_one_line_and_registers_nothing(bare: str, tmp_path: Path) -> None:
    client = await Client.connect(bare)
    # a type conflict: one attribute of casework's there with another type
    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace="conflict",
        search_attributes={"CaseQueue": IndexedValueType.INDEXED_VALUE_TYPE_TEXT}))
    # SQL visibility holds 10 Keyword attributes a namespace: 4 of another application's leave
    # too few for casework's 7, and the server refuses all of them
    others = {f"Other{i}": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for i in range(4)}
    await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace="full", search_attributes=others))
    nobody = f"127.0.0.1:{free_port()}"
    # An API key turns TLS on (Temporal's environment configuration): a server without TLS
    # says so, and TEMPORAL_TLS=false sends the key in plaintext (the dev server checks none).
    keyed = setup_env(tmp_path, bare, TEMPORAL_NAMESPACE="racing", TEMPORAL_API_KEY="k-1")
    profiles = tmp_path / "temporal.toml"  # a profile whose client certificate is not there
    profiles.write_text(f'[profile.prod]\naddress = "{bare}"\n[profile.prod.tls]\n'
                        f'client_cert_path = "{tmp_path}/none.pem"\n'
                        f'client_key_path = "{tmp_path}/none.key"\n')
    # one at a time: seven casework processes at once can take a busy 2-core machine past the
    # 60 s a CLI call is given
    unreachable = await run_cli(setup_env(tmp_path, nobody), "setup", ok=False)
    unknown = await run_cli(setup_env(tmp_path, bare, TEMPORAL_NAMESPACE="nope"), "setup",
                            ok=False)
    tls = await run_cli(keyed, "setup", ok=False)
    conflict = await run_cli(setup_env(tmp_path, bare, TEMPORAL_NAMESPACE="conflict"), "setup",
                             ok=False)
    plain = await run_cli({**keyed, "TEMPORAL_TLS": "false"}, "setup", "--json")
    unread = await run_cli(setup_env(tmp_path, bare, TEMPORAL_CONFIG_FILE=str(profiles)),
                           "setup", "--profile", "prod", ok=False)
    full = await run_cli(setup_env(tmp_path, bare, TEMPORAL_NAMESPACE="full"), "setup",
                         ok=False)
    one_line(unreachable, 6, f"casework: unavailable: cannot reach Temporal at {nobody}")
    one_line(unknown, 4, "casework: notfound: namespace 'nope' does not exist")
    one_line(tls, 6, "over TLS", "TEMPORAL_TLS=false")
    one_line(conflict, 3, "casework: refused: namespace 'conflict' has CaseQueue as Text where "
             "casework needs Keyword: nothing registered")
    assert await custom(bare, "conflict") == {
        "CaseQueue": IndexedValueType.INDEXED_VALUE_TYPE_TEXT}
    one_line(full, 3, "refused casework's search attributes for namespace 'full' (",
             "cannot have more than 10 search attribute of type Keyword", "nothing registered")
    assert await custom(bare, "full") == others
    one_line(unread, 2, "casework: invalidinput: Temporal's environment configuration: ",
             "none.pem")
    said = json.loads(plain.stdout)
    assert (said["tls"], said["api_key"]) == (False, True)


def test_a_refused_api_key_is_a_refusal_not_an_outage() -> None:
    """No server on this machine refuses an API key (the dev server has no authorizer and takes
    any key), so this checks the mapping of the two shapes a refusal takes in the SDK: an
    `RPCError` status on a call, and the text of the `RuntimeError` from connecting (the format
    the SDK printed here for another status: `Status { code: …, message: "…", … }`)."""
    at = "ns.acct.tmprl.cloud:7233"
    refused = connection.failure(RPCStatusCode.UNAUTHENTICATED, "Request unauthorized.", at,
                                 "ns.acct")
    assert isinstance(refused, Refused) and "refused the credentials" in str(refused)
    denied = connection.failure(RPCStatusCode.PERMISSION_DENIED, "Request unauthorized.", at,
                                "ns.acct")
    assert isinstance(denied, Refused)
    assert "does not let this caller use namespace 'ns.acct'" in str(denied)
    connecting = ("Failed client connect: `get_system_info` call error after connection: "
                  'Status { code: Unauthenticated, message: "Request unauthorized.", '
                  "metadata: MetadataMap { headers: {} }, source: None }")
    found = connection._connect_failure(connecting, {"target_host": at, "api_key": "k"})
    assert isinstance(found, Refused) and "(Request unauthorized.)" in str(found)
    missing = connection.failure(RPCStatusCode.NOT_FOUND, "Namespace x is not found.", at, "x")
    assert isinstance(missing, NotFound)
    assert isinstance(connection._connect_failure("tcp connect error", {"target_host": at}),
                      Unavailable)


def test_on_temporal_cloud_the_refusal_names_the_tcld_command() -> None:
    command = connection.tcld_command("ns.acct")
    assert command.startswith("tcld namespace search-attributes add --namespace ns.acct ")
    assert command.count("--search-attribute ") == len(ALL)
    assert "--search-attribute CasePolicyIds=KeywordList" in command

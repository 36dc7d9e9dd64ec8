"""On the dev server: a report's text and reporter never sit in history in clear; casework shows
them, and so does `temporal` through casework's codec endpoint."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import subprocess
import uuid
from collections.abc import Iterator

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from client import codec_server
from client.casework import CaseworkClient
from config.codec import ENCRYPTED
from config.settings import Settings
from stack import devserver
from tests.helpers import eventually, signed_in
from tests.test_e2e_cli import cli_env, run_cli

# In clear by design: search attributes (ops' view) and the SDK's own marker bookkeeping
# (patch ids, local-activity sequence numbers and times); the local activities' results are not.
CLEAR_BY_DESIGN = re.compile(r"\.search_attributes\.|\.marker_recorded_event_attributes"
                             r"\.details\[(data|patch-data)\]")


def payloads(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every Payload inside a proto message, with the field path (and map keys) to it."""
    if isinstance(message, Payload):
        yield path, message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items = [(f"{path}.{field.name}[{k}]", v) for k, v in value.items()]
        else:
            items = [(f"{path}.{field.name}", v) for v in (value if field.is_repeated else [value])]
        for sub, v in items:
            if isinstance(v, Message):
                yield from payloads(v, sub)


async def temporal_show(address: str, case_id: str, *flags: str) -> str:
    proc = await asyncio.to_thread(
        subprocess.run, [devserver.binary("temporal"), "workflow", "show", "--workflow-id",
                         case_id, "--address", address, "--detailed", *flags],
        capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


async def test_report_text_is_absent_from_raw_history_and_shown_by_casework(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings,
        api_url: str) -> None:
    marker, reporter = f"MARKER-{uuid.uuid4().hex}", f"reporter-{uuid.uuid4().hex}"
    ref = await dev.open_case("listing:L-0001", "user_report", reporter=reporter,
                              text=f"fake watch, call me {marker}")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "queued")
    await dev.claim(ref.case_id, "alice")
    await dev.decide(ref.case_id, "alice", ["counterfeit"], ["remove"], f"replica; {marker}")
    await eventually(lambda: dev.show(ref.case_id), lambda c: c.state == "appealable")

    # What anyone with access to Temporal reads: a client without casework's codec.
    address = dev_env.client.service_client.config.target_host
    plain = await Client.connect(address, namespace=dev_env.client.namespace)
    history = await plain.get_workflow_handle(ref.case_id).fetch_history()
    raw = b"".join(event.SerializeToString() for event in history.events)
    for secret in (marker, reporter):
        assert secret not in history.to_json() and secret.encode() not in raw
    found = [(path, p) for event in history.events for path, p in payloads(event)]
    sealed = [p for path, p in found if not CLEAR_BY_DESIGN.search(path)]
    assert len(sealed) > 20 and all(p.metadata["encoding"] == ENCRYPTED for p in sealed)

    shown = await temporal_show(address, ref.case_id)
    assert marker not in shown and reporter not in shown
    with codec_server.build(dataclasses.replace(settings, codec_port=0, codec_token="t")
                            ).start() as endpoint:
        decrypted = await temporal_show(address, ref.case_id, "--codec-endpoint", endpoint.url,
                                        "--codec-auth", "Bearer t")
    assert marker in decrypted and reporter in decrypted

    alice = signed_in(cli_env(dev_env, settings), api_url, dev.ledger, "alice")
    proc = await run_cli(alice, "case", "show", ref.case_id)  # shown in clear, signed in
    assert marker in proc.stdout and reporter in proc.stdout

"""What the benchmarks share: a dev server with a casework client on a temporary folder, the
pack with a bench's overrides, casework processes, their listings in the sandbox, free ports,
peak memory and how they print figures."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from temporalio.client import Client

from client.casework import CaseworkClient
from config.codec import Keyring, data_converter, ensure_dev_keys
from config.settings import Settings
from domain.people import ALL_QUEUES, Person, Role
from ledger.store import Ledger
from marketplace import demo
from marketplace.sandbox import SandboxMarketplace
from stack import devserver


@dataclass
class Stack:
    """A dev server on a SQLite file in `settings.data_dir`, a casework client connected to it,
    and the environment a `casework` process needs to join them."""

    settings: Settings
    client: Client
    cw: CaseworkClient
    env: dict[str, str]
    server: subprocess.Popen[bytes]

    def casework(self, *args: str, log: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
        """`casework ARGS…` as a process of its own (a worker, the API)."""
        return subprocess.Popen([str(Path(sys.executable).parent / "casework"), *args],
                                env=self.env, stdout=log or subprocess.DEVNULL,
                                stderr=subprocess.STDOUT if log else subprocess.DEVNULL)


def pack_with(folder: Path, extra: str) -> Path:
    """The shipped policy pack with a bench's tables appended, as a file in `folder`."""
    pack = folder / "pack.toml"
    pack.write_text(Settings().policy_pack.read_text() + "\n" + extra)
    return pack


@asynccontextmanager
async def dev_stack(data: Path, pack_extra: str = "") -> AsyncIterator[Stack]:
    settings = Settings(data_dir=data, **(
        {"policy_pack": pack_with(data, pack_extra)} if pack_extra else {}))
    ensure_dev_keys(settings)
    port, ui_port = free_port(), free_port()
    env = {**os.environ, "CASEWORK_DATA_DIR": str(data), "CASEWORK_CODEC_KEYS": "",
           "CASEWORK_POLICY_PACK": str(settings.policy_pack),
           "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
           "CASEWORK_METRICS_ADDRESS": "127.0.0.1:0"}  # each worker process: a free port
    server = subprocess.Popen(devserver.command(data / "temporal.db", port, ui_port),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        devserver.wait_for_port(port)
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=data_converter(
            Keyring.configured(settings)))
        yield Stack(settings, client, CaseworkClient(client, settings), env, server)
    finally:
        server.terminate()
        server.wait(timeout=30)


def load_listings(sandbox: SandboxMarketplace, n: int, prefix: str) -> list[str]:
    """The demo's sellers and shops with `n` listings of their own, each a rule hit below the
    auto-enforce threshold: every case is screened, queued, claimed and decided by a person."""
    sellers, shops, _ = demo.generate()
    rows = [{"id": f"{prefix}-{i:05d}", "shop_id": shops[i % len(shops)]["id"],
             "title": f"Gucci belt dupe no. {i}", "description": "unbranded dupe",
             "category": "fashion", "price": 25.0, "status": "active", "flags": [],
             "image_hashes": [], "created_on": "2026-06-01"} for i in range(n)]
    sandbox.load(sellers, shops, rows)
    return [f"listing:{row['id']}" for row in rows]


def add_reviewers(ledger: Ledger, n: int) -> None:
    """`reviewer-0` … `reviewer-<n-1>` in the directory, reviewers of every queue, and
    `lead-0`, a lead who starts bulk work."""
    for i in range(n):
        ledger.put_person(Person(id=f"reviewer-{i}", name=f"Reviewer {i}", roles=[Role.REVIEWER],
                                 queues=[ALL_QUEUES]))
    ledger.put_person(Person(id="lead-0", name="Lead 0", roles=[Role.LEAD], queues=[ALL_QUEUES]))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """A live process's resident high-water mark (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmHWM for pid {pid}")


def report(result: dict[str, Any], as_json: bool) -> None:
    """One JSON object on stdout, or a table."""
    if as_json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>20}: {v}")

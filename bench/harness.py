"""What the benchmarks share: a dev server with a casework client on a temporary folder (stopped
and started again on its file), the pack with a bench's overrides, casework processes and the
CLI, their listings in the sandbox, signed-in console tabs, free ports, memory, percentiles and
how they print figures."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
from temporalio.client import Client

from client.casework import CaseworkClient
from client.ops import Ops
from config.codec import Keyring, data_converter, ensure_dev_keys
from config.settings import Settings
from domain.errors import Unavailable
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
    port: int
    ui_port: int

    def start_server(self) -> None:
        """The dev server on the stack's file and ports (again, after `stop_server`)."""
        self.server = _server(self.settings.data_dir, self.port, self.ui_port)
        devserver.wait_for_port(self.port, timeout=120)

    def stop_server(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=60)

    def casework(self, *args: str, log: IO[bytes] | None = None) -> subprocess.Popen[bytes]:
        """`casework ARGS…` as a process of its own (a worker, the API)."""
        return casework(self.env, *args, log=log)

    def cli_env(self, api: str, token: str) -> dict[str, str]:
        """What the `casework` CLI needs to go through the API at `api` signed in with `token`
        (nothing kept from a `casework login` elsewhere)."""
        return {**self.env, "CASEWORK_API_URL": api, "CASEWORK_TOKEN": token,
                "CASEWORK_CONFIG_DIR": str(self.settings.data_dir / "cli")}


def casework(env: dict[str, str], *args: str, log: IO[bytes] | None = None
             ) -> subprocess.Popen[bytes]:
    """`casework ARGS…` as a process of its own, in `env`."""
    return subprocess.Popen([str(Path(sys.executable).parent / "casework"), *args],
                            env=env, stdout=log or subprocess.DEVNULL,
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
    server = _server(data, port, ui_port)
    try:
        devserver.wait_for_port(port)
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=data_converter(
            Keyring.configured(settings)))
    except BaseException:
        server.terminate()
        raise
    stack = Stack(settings, client, CaseworkClient(client, settings), env, server, port, ui_port)
    try:
        yield stack
    finally:
        stack.stop_server()  # the one running now (a bench may have started it again)


def _server(data: Path, port: int, ui_port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(devserver.command(data / "temporal.db", port, ui_port),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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


T = TypeVar("T")


async def again(call: Callable[[], Awaitable[T]], give_up: float,
                retried: Callable[[], object] = lambda: None) -> T:
    """Retry a call while casework is unavailable (the stack is down, starting or too busy to
    answer within its bounds) until `give_up` (time.monotonic()); `retried` hears of each."""
    while True:
        try:
            return await call()
        except Unavailable:
            if time.monotonic() > give_up:
                raise
            retried()
            await asyncio.sleep(0.5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """A live process's resident high-water mark (VmHWM), in MB."""
    return rss_mb(pid, "VmHWM")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A live process's resident memory now (VmRSS), or another field of its status, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no {field} for pid {pid}")


def cpu_s(pid: int) -> float:
    """A live process's CPU time so far (user and system), in seconds: what it did, whatever
    else the machine was doing."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile_ms(seconds: Sequence[float], q: float) -> float:
    """The `q` quantile (0..1, nearest rank) of durations in seconds, in milliseconds."""
    values = sorted(seconds)
    return round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 1)


def timed_cli(env: dict[str, str], *args: str) -> float:
    """Seconds `casework ARGS… --json` takes end to end, as a process of its own (what a person
    at a terminal waits); its failure raises with its stderr."""
    started = time.perf_counter()
    proc = subprocess.run([str(Path(sys.executable).parent / "casework"), *args, "--json"],
                          env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"casework {' '.join(args)}: {proc.stderr.strip()}")
    return time.perf_counter() - started


class Browser:
    """One keep-alive HTTP/1.1 connection that GETs pages with a session cookie, as a
    browser tab does: a load generator light enough (no client library per request) that
    the figures measure the console, not the 20 sessions sharing this process's CPU."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port, self.cookie = port, cookie

    async def __aenter__(self) -> Browser:
        await self._connect()
        return self

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.used = time.monotonic()

    async def __aexit__(self, *_: object) -> None:
        self.writer.close()

    async def ready(self) -> None:
        """Reconnect if the server has closed the idle connection (not part of a page's time,
        as a browser keeps a pool)."""
        if time.monotonic() - self.used > KEEP_ALIVE_S:
            self.writer.close()
            await self._connect()

    async def get(self, path: str) -> int:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          f"Cookie: cw_session={self.cookie}\r\n\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        await self.reader.readexactly(length)
        self.used = time.monotonic()
        return status


KEEP_ALIVE_S = 4  # uvicorn closes an idle keep-alive connection after 5 s


async def sign_in(base: str, who: str, password: str) -> str:
    """A console session's cookie, signed in through the form as a person does."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        page = await http.get("/login")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        r = await http.post("/login", data={"username": who, "password": password,
                                            "csrf": csrf})
        assert r.status_code == 303, r.text
        return str(r.cookies["cw_session"])


Pages = Callable[[int], Sequence[tuple[str, list[float]]]]


async def console_session(base: str, port: int, who: str, password: str, rounds: int,
                          think: float, pages: Pages, failed: list[str] | None = None) -> None:
    """One signed-in person in one tab: each round loads `pages(round)` in turn, each page's
    time (seconds) appended to the list beside its path, after reading the page before it
    `think` seconds on average (exponential; 0: as fast as the server answers). A page that
    does not answer 200 fails the session, or is listed in `failed` (and timed) if given."""
    cookie = await sign_in(base, who, password)
    rng = random.Random(who)
    async with Browser(port, cookie) as tab:
        for i in range(rounds):
            for path, into in pages(i):
                if think:
                    await asyncio.sleep(rng.expovariate(1 / think))
                await tab.ready()
                started = time.perf_counter()
                status = await tab.get(path)
                into.append(time.perf_counter() - started)
                if status != 200:
                    assert failed is not None, f"{path}: {status}"
                    failed.append(path)


def report(result: dict[str, Any], as_json: bool) -> None:
    """One JSON object on stdout, or a table."""
    if as_json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:>20}: {v}")


# -- several processes on one Temporal and one ledger, and a load over HTTP across them --------
class Fleet:
    """`casework worker` and `casework api` processes sharing one Temporal and one ledger, as a
    deployment runs several of each (their output in `logs/<name>.log`)."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.workers: list[subprocess.Popen[bytes]] = []
        self.apis: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []

    def _start(self, name: str, *args: str, **env: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:
            return casework({**self.env, **env}, *args, log=log)

    def start(self, workers: int, apis: int) -> None:
        for _ in range(workers):  # workers on one machine: each its own metrics port
            self.workers.append(self._start(f"worker-{len(self.workers)}", "worker",
                                            CASEWORK_METRICS_ADDRESS="127.0.0.1:0"))
        for _ in range(apis):
            port = free_port()
            self.apis.append(self._start(f"api-{len(self.apis)}", "api", "--port", str(port)))
            self.urls.append(f"http://127.0.0.1:{port}")

    async def ready(self, cw: CaseworkClient, timeout: float = 120) -> None:
        """Once every API process answers and every live worker polls casework's queue."""
        deadline = time.monotonic() + timeout
        live = [p for p in self.workers if p.poll() is None]
        for url in self.urls:
            await asyncio.to_thread(devserver.wait_for_port, int(url.rsplit(":", 1)[1]),
                                    timeout)
        while True:
            if dead := [p.args for p in [*self.workers, *self.apis] if p.poll() not in (None, -9)]:
                raise RuntimeError(f"{dead} ended; see {self.logs}")
            polling = {p.identity for p in (await Ops(cw).workers()).pollers
                       if p.kind == "activity"}
            if len(polling) >= len(live):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(polling)} of {len(live)} workers poll; see {self.logs}")
            await asyncio.sleep(0.2)

    def kill_worker(self, n: int = 0) -> None:
        """SIGKILL a worker: no shutdown of any kind."""
        self.workers[n].send_signal(signal.SIGKILL)
        self.workers[n].wait(timeout=30)

    def stop(self) -> None:
        for proc in [*self.workers, *self.apis]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, *self.apis]:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def api_token(url: str, who: str, password: str) -> str:
    """A person's token from the API for their password, as `casework login` gets one."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        r = await http.post("/api/login", json={"username": who, "password": password})
        if r.status_code != 201:
            raise RuntimeError(f"{who} could not sign in: {r.status_code} {r.text}")
        return str(r.json()["token"])


@dataclass(frozen=True)
class Sent:
    """A command sent through API `api` and its first answer."""

    api: int
    path: str
    key: str
    body: dict[str, Any]
    token: str
    answer: dict[str, Any]


class HttpLoad:
    """N cases opened, claimed and decided over HTTP across API processes, as a marketplace's
    service and signed-in reviewers do: case i is opened and decided through API i % n and
    claimed through the next. Every command carries an Idempotency-Key and is sent again with it
    while casework is unavailable (a worker killed mid-command). Even cases are removals (each a
    statement of reasons and a seller notice), odd ones close with no action. `sent` keeps each
    command's first answer."""

    def __init__(self, urls: list[str], intake_token: str, reviewer_tokens: list[str],
                 listings: list[str], tag: str, give_up_s: float = 300) -> None:
        self.urls, self.intake, self.reviewers = urls, intake_token, reviewer_tokens
        self.listings, self.tag = listings, tag
        self.give_up = time.monotonic() + give_up_s
        self.case_ids: dict[int, str] = {}
        self.decided: set[int] = set()
        self.sent: list[Sent] = []
        self.retried = 0  # commands sent again (casework was unavailable)
        self.http: list[httpx.AsyncClient] = []

    @staticmethod
    def restricts(i: int) -> bool:
        return i % 2 == 0

    def expected(self) -> dict[str, str]:
        """Each case's end: appealable once removed and its seller told, else closed."""
        return {case_id: "appealable" if self.restricts(i) else "closed"
                for i, case_id in self.case_ids.items()}

    async def run(self, concurrency: int) -> None:
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                await self.case(i)

        async with contextlib.AsyncExitStack() as stack:
            self.http = [await stack.enter_async_context(httpx.AsyncClient(
                base_url=url, timeout=60)) for url in self.urls]
            await asyncio.gather(*(one(i) for i in range(len(self.listings))))

    async def case(self, i: int) -> None:
        opens, claims = i % len(self.urls), (i + 1) % len(self.urls)
        reviewer = self.reviewers[i % len(self.reviewers)]
        ref = await self.send(opens, self.intake, "/api/reports", {
            "subject": self.listings[i], "source": "user_report", "reporter": f"buyer-{i}",
            "text": "a replica sold as the real thing"}, f"{self.tag}-open-{i}")
        case_id = self.case_ids[i] = ref["case_id"]
        while ref.get("state") != "queued":  # still screening: a reviewer claims what is queued
            await asyncio.sleep(0.2)
            ref = await self.get(claims, reviewer, f"/api/cases/{case_id}")
        await self.send(claims, reviewer, f"/api/cases/{case_id}/claim", {},
                        f"{self.tag}-claim-{i}")
        decision = ({"policy_ids": ["counterfeit"], "actions": ["remove"], "reason": "replica"}
                    if self.restricts(i) else
                    {"policy_ids": [], "actions": ["no_action"], "reason": "not a replica"})
        await self.send(opens, reviewer, f"/api/cases/{case_id}/decision", decision,
                        f"{self.tag}-decide-{i}")
        self.decided.add(i)

    async def get(self, api: int, token: str, path: str) -> dict[str, Any]:
        """A read; not found yet (no ledger row) or unavailable answers `{}`."""
        try:
            r = await self.http[api].get(path, headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError:
            return {}
        return dict(r.json()) if r.status_code == 200 else {}

    async def send(self, api: int, token: str, path: str, body: dict[str, Any], key: str
                   ) -> dict[str, Any]:
        """POST `body` with Idempotency-Key `key`, sent again with it while unavailable."""
        while True:
            try:
                r = await self.http[api].post(path, json=body, headers={
                    "Authorization": f"Bearer {token}", "Idempotency-Key": key})
            except httpx.TransportError:
                r = None
            if r is not None and r.status_code != 503:
                break
            if time.monotonic() > self.give_up:
                raise TimeoutError(f"{path} still unavailable")
            self.retried += 1
            await asyncio.sleep(0.5)
        if r.status_code >= 300:
            raise RuntimeError(f"{path}: {r.status_code} {r.text}")
        self.sent.append(Sent(api, path, key, body, token, r.json()))
        return dict(r.json())

    async def finished(self, ledger: Ledger) -> dict[str, str]:
        """The cases not yet at their end, with their state now (waits for nothing)."""
        ends = self.expected()
        rows = await asyncio.to_thread(ledger.queue, states=tuple(set(ends.values())),
                                       limit=10 * len(ends) + 100)
        now = {r.case_id: r.state for r in rows}
        return {c: now.get(c, "?") for c, end in ends.items() if now.get(c) != end}

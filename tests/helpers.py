"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import re
import shutil
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from temporalio.client import Client

import worker as worker_module
from api.app import create_app
from client.casework import CaseworkClient
from client.credentials import Credentials
from config.codec import Keyring, data_converter
from config.settings import ROOT, Settings
from domain.errors import Unavailable
from domain.people import ALL_QUEUES, Person, Role
from ledger.store import Ledger

T = TypeVar("T")

# A fixed key set, committed on purpose (NOT a secret): recorded histories replay with it.
TEST_KEYS = Path(__file__).parent / "codec-test-keys.json"
CONVERTER = data_converter(Keyring.load(TEST_KEYS))

# Who acts in the tests: reviewers of every queue, and an operator.
TEST_PEOPLE = [
    *(Person(id=r, name=r.title(), roles=[Role.REVIEWER], queues=[ALL_QUEUES])
      for r in ("bob", "carol", "dana", "erin", "fay", "gus", "hal", "ida", "jo",
                "kim", *(f"reviewer-{i}" for i in range(7)))),
    Person(id="ops-1", name="Ops One", roles=[Role.OPS]),
    *(Person(id=r, name=r.title(), roles=[Role.REVIEWER], queues=[ALL_QUEUES])
      for r in ("lee", "lead-1")),
    *(Person(id=a, name=a.title(), roles=[Role.REVIEWER, Role.APPEALS], queues=[ALL_QUEUES])
      for a in ("alice", "max", "nina")),  # alice: the decider an appeal must not go to
    *(Person(id=s, name=s.title(), roles=[Role.REVIEWER, Role.SENIOR], queues=[ALL_QUEUES])
      for s in ("sam", "senior-sam")),
    *(Person(id=o, name=o.title(), roles=[Role.ESCALATION_OWNER]) for o in ("olga", "mallory")),
    *(Person(id=t, name=t.title(), roles=[Role.REVIEWER, Role.LEAD], queues=[ALL_QUEUES])
      for t in ("lena", "leo")),  # leads: they start bulk work
    *(Person(id=a, name=a.title(), roles=[Role.REVIEWER, Role.APPEALS, Role.SENIOR],
             queues=[ALL_QUEUES]) for a in ("emma", "ada")),
    Person(id="otto", name="Otto", roles=[Role.REVIEWER, Role.SENIOR, Role.ESCALATION_OWNER],
           queues=[ALL_QUEUES]),  # an owner who is also a senior: not his own second person
    Person(id="quinn", name="Quinn", roles=[Role.QA]),  # blind QA checks, in no queue
]


@asynccontextmanager
async def own_pack_worker(client: Client, settings: Settings,
                          executor: concurrent.futures.ThreadPoolExecutor, pack_extra: str = "",
                          **changes: Any) -> AsyncIterator[CaseworkClient]:
    """A worker reading a copy of the pack the test may change (`pack_extra` appended), with
    `changes` to its settings."""
    pack = settings.data_dir / "pack.toml"
    shutil.copy(ROOT / "policies" / "pack.toml", pack)
    with pack.open("a") as f:
        f.write(pack_extra)
    own = dataclasses.replace(settings, policy_pack=pack, **changes)
    async with worker_module.build_worker(client, own, executor):
        yield CaseworkClient(client, own)


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serving(cw: CaseworkClient) -> AsyncIterator[str]:
    """casework's HTTP API and console over `cw`, on a free port: its address."""
    async def connect() -> CaseworkClient:
        return cw

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(connect), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on",
                                           proxy_headers=False))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def signed_in(env: dict[str, str], api_url: str, ledger: Ledger, who: str,
              scopes: Sequence[str] = ()) -> dict[str, str]:
    """`env` for a `casework` process signed in to the API at `api_url` as `who` (a person of
    the directory, or a service with `scopes`), with a config folder of its own."""
    _, token = Credentials(ledger).create_token(who, scopes)
    return {**env, "CASEWORK_API_URL": api_url, "CASEWORK_TOKEN": token,
            "CASEWORK_CONFIG_DIR": f"/nonexistent/casework-config-{who}"}


def seed_directory(ledger_url: str) -> None:
    """Put the tests' people in the ledger's directory."""
    with closing(Ledger(ledger_url)) as ledger:
        for person in TEST_PEOPLE:
            ledger.put_person(person)


async def eventually(probe: Callable[[], Awaitable[T]], check: Callable[[T], bool],
                     timeout: float = 20, interval: float = 0.1) -> T:
    """Poll `probe` until `check` holds; fail with the last value seen. A probe that finds
    casework unavailable (no worker for a while) is asked again."""
    end = time.monotonic() + timeout
    value: T | Unavailable | None = None
    while True:
        try:
            value = await probe()
        except Unavailable as e:
            value = e
        else:
            if check(value):
                return value
        if time.monotonic() > end:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(interval)


async def removed(cw: Any, subject: Any, reporter: str = "buyer-1") -> str:
    """A case about `subject` decided by alice as a removal, in its appeal window."""
    ref = await cw.open_case(subject, "user_report", reporter=reporter, text="fake")
    await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "queued")
    await cw.claim(ref.case_id, "alice")
    await cw.decide(ref.case_id, "alice", ["counterfeit"], ["remove"], "replica")
    await eventually(lambda: cw.show(ref.case_id), lambda c: c.state == "appealable")
    return str(ref.case_id)


def settled_in(state: str) -> Callable[[Any], bool]:
    """The record is in `state` and its ledger commit for it has returned (before that, a
    snapshot still changes: it is no baseline for "nothing changed")."""
    return lambda r: r.state == state and r.committed == r.revision


# -- the docs' commands ------------------------------------------------------------------------
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclasses.dataclass(frozen=True)
class DocCommand:
    """One `casework …` line of a doc's shell block as a reader types it: continuations joined,
    the comment dropped, optional parts given (`[--json]` is `--json`); `VAR=value` prefixes,
    `< FILE` and `> FILE` apart."""

    where: str  # the doc's file name
    text: str
    env: dict[str, str]
    stdin: str | None = None
    stdout: str | None = None

    @property
    def variants(self) -> list[str]:
        """The command once per alternative of its first `a|b|c` (once when it has none); later
        alternatives resolved to their first."""
        found = re.search(r"(?<![\w-])([\w-]+(?:\|[\w-]+)+)", self.text)
        choices = found.group(1).split("|") if found else [""]
        return [_first(self.text[:found.start()] + c + self.text[found.end():] if found
                       else self.text) for c in choices]


def _first(command: str) -> str:
    return re.sub(r"(?<![\w-])([\w-]+)\|[\w|-]+", r"\1", command)


def doc_commands() -> list[DocCommand]:
    """Every `casework …` line of README.md's and docs/*.md's shell blocks, in document order."""
    found = []
    for doc in DOCS:
        for block in re.findall(r"```sh\n(.*?)```", doc.read_text(), re.DOTALL):
            for line in re.sub(r"\\\n\s*", " ", block).splitlines():
                line = line.strip()
                prefix = re.match(r"(\w+=\S+ )+", line)
                command = line[prefix.end():] if prefix else line
                if not command.startswith("casework "):
                    continue
                env = dict(p.split("=", 1) for p in (prefix.group(0).split() if prefix else []))
                command = re.split(r"\s{2,}#|\s#\s", command)[0].strip()
                redirected = dict(re.findall(r"\s([<>])\s*(\S+)", command))
                command = re.sub(r"\s[<>]\s*\S+", "", command)
                command = re.sub(r"\[([^\]]*)\]", r"\1", command)  # optional parts, given
                command = command.replace("|…", "")  # an open list of alternatives
                found.append(DocCommand(doc.name, " ".join(command.split()), env,
                                        redirected.get("<"), redirected.get(">")))
    return found


def documented() -> list[tuple[str, str]]:
    """(where, command) for each documented command, alternatives resolved to the first, a
    number's placeholder `N` as 1 and `…` as x: as the command line must parse it."""
    return [(c.where, re.sub(r"\bN\b", "1", _first(c.text)).replace("…", "x"))
            for c in doc_commands()]


async def polling(cw: CaseworkClient, pid: int, timeout: float = 120) -> None:
    """Until the worker process `pid` polls casework's task queue for workflow tasks (a worker
    process takes seconds to start on a loaded machine; a command sent before then waits out
    its own timeout)."""
    from client.ops import Ops

    workers = Ops(cw).workers
    await eventually(workers, lambda w: any(p.kind == "workflow" and p.identity.startswith(
        f"{pid}@") for p in w.pollers), timeout=timeout, interval=0.3)

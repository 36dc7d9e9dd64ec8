"""`make run`: the whole stack on one machine, stopped cleanly by Ctrl-C.

Temporal dev server (SQLite file under data/, web UI, casework's search attributes registered as
`casework setup` registers them, so a database from an older release gains new ones), the worker,
the sandbox marketplace with its demo data, a demo directory of people (while the directory is
empty) and a handful of demo cases on first start. Running it again keeps the cases and people
of the last run (same SQLite files). Payloads are encrypted under a development key made on
first start (`data/codec-keys.json`); the web UI decrypts them through casework's codec
endpoint. The console and the HTTP API are served on 127.0.0.1:8080 (`CASEWORK_API_PORT`); the
demo people get passwords on first start, printed once and kept in `data/demo-passwords.txt`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import os
import secrets
import shlex
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from api.app import create_app
from cli.session import local_api_url
from client import codec_server
from client.casework import CaseworkClient
from client.credentials import Credentials
from config import codec, telemetry
from config.connection import default_address, register
from config.settings import ROOT, Settings
from domain import calibration
from domain.errors import CaseworkError
from domain.people import ALL_QUEUES, Person, Role
from domain.policy import PolicyPack
from ledger.store import Ledger
from marketplace import demo
from marketplace.sandbox import SandboxMarketplace
from stack import devserver, quality_demo

DEFAULTS = Settings(data_dir=ROOT / "data", temporal_port=7233, api_host="127.0.0.1",
                    api_port=8080)
DEMO_REPORTS = [
    ("listing:L-0001", "user_report", "buyer-117", "Looks like a fake watch", None),
    ("listing:L-0002", "rights_owner", "brand-protection@rolex.example", "", "counterfeit"),
    ("listing:L-0005", "trusted_flagger", "tf-consumer-assoc", "Scam price", None),
    ("listing:L-0012", "user_report", "buyer-042", "Seller sells knives", None),
    ("listing:L-0020", "classifier", None, "image model: weapon 0.91", None),
    ("listing:L-0033", "user_report", "buyer-310", "Is this legal?", None),
    ("listing:L-0048", "user_report", "buyer-555", "Recalled product", "recalled-products"),
    ("listing:L-0100", "user_report", "buyer-009", "Wrong colour in photo", None),
]


DEMO_PEOPLE = [
    Person(id="alice", name="Alice Moreau", roles=[Role.REVIEWER], queues=["ip", "fraud", "general"]),
    Person(id="bilal", name="Bilal Haddad", roles=[Role.REVIEWER],
           queues=["dangerous_goods", "regulated_goods", "product_safety", "wildlife"]),
    Person(id="chen", name="Chen Wei", roles=[Role.REVIEWER], queues=["adult", "hate", "child_safety"]),
    Person(id="dana", name="Dana Kowalski", roles=[Role.REVIEWER, Role.SENIOR], queues=[ALL_QUEUES]),
    Person(id="emeka", name="Emeka Obi", roles=[Role.APPEALS, Role.SENIOR], queues=[ALL_QUEUES]),
    Person(id="farah", name="Farah Nasser", roles=[Role.ESCALATION_OWNER]),
    Person(id="gabriel", name="Gabriel Costa", roles=[Role.OPS]),
    Person(id="helena", name="Helena Berg", roles=[Role.LEAD, Role.REVIEWER], queues=[ALL_QUEUES]),
    Person(id="ivan", name="Ivan Petrov", roles=[Role.ADMIN]),
    Person(id="kai", name="Kai Lindqvist", roles=[Role.QA]),  # blind QA checks
]


def seed_demo_directory(ledger: Ledger) -> int:
    """Put the demo people in an empty directory (a directory with anyone in it is kept)."""
    if ledger.people():
        return 0
    for person in DEMO_PEOPLE:
        ledger.put_person(person)
    return len(DEMO_PEOPLE)


async def open_demo_cases(client: CaseworkClient, sandbox: SandboxMarketplace) -> int:
    """Report the listings that break a policy, plus a few clean ones, and a few notices."""
    opened = 0
    flagged = [row["subject"] for row in sandbox.list()
               if row["subject"].startswith("listing:") and _violates(row["title"])][:6]
    reports = [(s, "user_report", f"buyer-{i:03d}", "Reported from the listing page", None)
               for i, s in enumerate(flagged)] + DEMO_REPORTS
    for subject, source, reporter, text, hint in reports:
        await client.open_case(subject, source, reporter=reporter, text=text, policy_hint=hint)
        opened += 1
    return opened


def seed_demo_passwords(settings: Settings, ledger: Ledger) -> list[tuple[str, str]]:
    """A password for each demo person who has none, kept in data/demo-passwords.txt (only
    readable by its owner) and printed once."""
    credentials = Credentials(ledger)
    made = []
    for person in DEMO_PEOPLE:
        if ledger.password_hash(person.id) is None:
            password = secrets.token_urlsafe(12)
            credentials.set_password(person.id, password)
            made.append((person.id, password))
    if made:
        path = passwords_file(settings)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)  # never readable by others, made now or before
        with os.fdopen(fd, "a") as f:
            f.writelines(f"{who} {password}\n" for who, password in made)
    return made


def passwords_file(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "demo-passwords.txt"


def _violates(title: str) -> bool:
    return any(title == v[0] for v in demo.VIOLATIONS)


def seed_quality_demo(settings: Settings, ledger: Ledger, pack: PolicyPack) -> int:
    """Once: the demo history behind the dashboard, and its calibration set."""
    marker = settings.data_dir / ".demo-history"
    if marker.exists() or not settings.demo_cases:
        return 0
    items = calibration.parse(quality_demo.calibration_file(), set(pack.by_id),
                              set(pack.queues))
    ledger.put_calibration_set(quality_demo.CALIBRATION_SET, items, "helena")
    n = quality_demo.seed_history(ledger, datetime.now(UTC))
    quality_demo.seed_trends(ledger, datetime.now(UTC))
    marker.write_text(str(n))
    return n


async def main() -> None:
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if "CASEWORK_POLICY_PACK" not in os.environ:  # the demo's pack: QA and calibration on
        settings = dataclasses.replace(settings, policy_pack=quality_demo.pack(
            settings, settings.policy_pack))
    sandbox = SandboxMarketplace(settings.sandbox_db)
    if sandbox.is_empty():
        sandbox.load(*demo.generate())
    if created := codec.ensure_dev_keys(settings):
        print(f"made a development payload encryption key: {created}")
    with telemetry.exported("stack", settings.metrics_address) as metrics_url:
        await _run(settings, sandbox, metrics_url)


async def _run(settings: Settings, sandbox: SandboxMarketplace, metrics_url: str | None) -> None:
    endpoint = codec_server.build(settings).start()
    log = open(settings.data_dir / "temporal.log", "ab")  # noqa: SIM115 - lives as long as run
    server = subprocess.Popen(devserver.command(settings.data_dir / "temporal.db",
                                                port=settings.temporal_port,
                                                ui_port=settings.ui_port,
                                                codec_endpoint=endpoint.url,
                                                attribute_flags=False),
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        await asyncio.to_thread(devserver.wait_for_port, settings.temporal_port, 60)
        client = await CaseworkClient.connect(settings,
                                              address=default_address(settings))
        if added := (await register(client.temporal)).added:  # `casework setup`'s own step
            print(f"registered {len(added)} search attributes: {', '.join(added)}")
        import worker as worker_module

        worker_module.use_bytecode_cache(settings)
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as executor:
            w = worker_module.build_worker(client.temporal, settings, executor)
            async with w:
                if seeded := seed_demo_directory(client.ledger):
                    print(f"seeded the directory with {seeded} demo people "
                          "(casework reviewer list)")
                marker = settings.data_dir / ".demo-cases-opened"
                if settings.demo_cases and not marker.exists():
                    n = await open_demo_cases(client, sandbox)
                    marker.write_text(str(n))
                    print(f"opened {n} demo cases")
                if history := seed_quality_demo(settings, client.ledger, client.pack()):
                    print(f"seeded {history} demo decisions of the last "
                          f"{quality_demo.WEEKS} weeks (the dashboard: /dashboard as helena)")
                try:  # made, or kept as the pack says; the stack runs on without it
                    scans = await asyncio.wait_for(client.schedule_trends(None), 15)
                    print(f"trend scans every {scans['every_minutes']} min (Schedule "
                          f"{scans['schedule_id']}; casework trends show)")
                except Exception as e:  # noqa: BLE001 - said once; `trends schedule` makes it
                    print(f"trend scans not scheduled now ({type(e).__name__}: {e}); "
                          "`casework trends schedule` makes the Schedule")
                if made := seed_demo_passwords(settings, client.ledger):
                    print(f"demo passwords (also in {passwords_file(settings)}): "
                          + ", ".join(f"{who} {pw}" for who, pw in made))
                api = uvicorn.Server(uvicorn.Config(
                    create_app(lambda: _same(client)), host=settings.api_host,
                    port=settings.api_port, log_level="warning", proxy_headers=False))
                serving = asyncio.create_task(api.serve())
                while not api.started and not serving.done():  # the banner once it answers
                    await asyncio.sleep(0.05)
                if not api.started:  # (uvicorn says why; a port taken ends the loop itself)
                    raise SystemExit(f"casework's API did not start on {settings.api_host}:"
                                     f"{settings.api_port}")
                print(banner(settings, endpoint.url, metrics_url), flush=True)
                stop = asyncio.Event()
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.add_signal_handler(sig, stop.set)
                await stop.wait()
                api.should_exit = True
                await serving
                print("\nstopping worker…")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        endpoint.stop()
        log.close()
        print("stopped")


async def _same(client: CaseworkClient) -> CaseworkClient:
    return client


def exports(settings: Settings) -> list[str]:
    """What another terminal sets for `casework` to reach this stack: only what differs from
    the defaults (Temporal on localhost:7233, the API on http://127.0.0.1:8080, `data/`)."""
    env = []
    if settings.temporal_port != DEFAULTS.temporal_port:
        env.append(f"CASEWORK_TEMPORAL_PORT={settings.temporal_port}")
    if (url := local_api_url(settings)) != local_api_url(DEFAULTS):
        env.append(f"CASEWORK_API_URL={url}")
    if settings.data_dir.resolve() != DEFAULTS.data_dir.resolve():
        env.append(f"CASEWORK_DATA_DIR={shlex.quote(str(settings.data_dir.resolve()))}")
    for name in ("CASEWORK_TASK_QUEUE", "CASEWORK_CASE_PREFIX", "CASEWORK_POLICY_PACK",
                 "CASEWORK_CODEC_KEYS_FILE"):
        if value := os.environ.get(name):
            env.append(f"{name}={shlex.quote(value)}")
    return env


def banner(settings: Settings, codec_url: str, metrics_url: str | None = None) -> str:
    cw = os.path.join(os.path.dirname(sys.executable), "casework")
    keys = "CASEWORK_CODEC_KEYS" if settings.codec_keys else settings.codec_keys_file
    passwords = passwords_file(settings)
    address = default_address(settings)
    api = local_api_url(settings)
    setup = []
    if env := exports(settings):
        setup.append("  export " + " ".join(env))
    if os.environ.get("TEMPORAL_ADDRESS", address) != address:
        setup.append("  unset TEMPORAL_ADDRESS             # it names another Temporal")
    secret = [n for n in ("CASEWORK_LEDGER_URL", "CASEWORK_CODEC_KEYS") if os.environ.get(n)]
    if secret:
        setup.append(f"  # and {' and '.join(secret)} as set here")
    first = "".join(f"{line}\n" for line in setup)
    return f"""
casework is running.
  Console and API  {local_api_url(settings)}  (sign in: alice, dana, emeka, farah…)
                   (their passwords: {passwords}; API reference at /docs)
  Temporal         {address}  (where casework connects unless TEMPORAL_ADDRESS says otherwise)
  Temporal UI      http://localhost:{settings.ui_port}  (namespace default; search e.g. CaseState="queued")
  codec endpoint   {codec_url}  (the UI decrypts payloads here; keys: {keys})
  metrics          {metrics_url or "off"}  (Prometheus; the API's at {api}/metrics)
  data             {settings.data_dir.resolve()}
Try, in another terminal:
{first}  {cw} reviewer list                    # the directory (direct: this machine)
  {cw} login --user alice               # her password: {passwords}
  {cw} queue list
  {cw} queue claim ip                   # prints the CASE_ID it claimed
  {cw} case decide CASE_ID --policy counterfeit --action remove --reason "replica"
  {cw} case timeline CASE_ID
  {cw} sandbox show listing:L-0001
  {devserver.binary("temporal")} workflow show --address {address} -w CASE_ID --codec-endpoint {codec_url}
Ctrl-C stops everything."""


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except CaseworkError as e:  # a setting refused (a metrics address in use): one line
        sys.exit(f"make run: {type(e).__name__.lower()}: {e}")

"""The command line's direct commands: they work on this machine's ledger, sandbox, pack and
Temporal (with the payload keys), for `make run`'s local set-up and for administrators: the
directory and its passwords and tokens, rebuilding the ledger, the sandbox marketplace and its
drills, the policy pack, and casework's own servers. People's commands go through the API
(`cli/remote.py`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import getpass
import json
import sys
from collections.abc import Iterator
from typing import Any

from cli import show
from cli.show import emit
from domain import errors
from domain.core import Subject, SubjectKind


async def connected(args: argparse.Namespace) -> Any:
    """A casework client on this machine's Temporal (with the payload keys) and ledger."""
    from client.casework import CaseworkClient

    return await CaseworkClient.connect(profile=args.profile, address=args.address)


async def ledger_rebuild(args: argparse.Namespace) -> None:
    from client.rebuild import rebuild

    c = await connected(args)
    report = await rebuild(c.temporal, c.ledger, c.settings.task_queue, fresh=args.fresh)
    emit(args, report, lambda r: f"rebuilt {r.cases} case(s) and {r.statements} statement(s)"
          + "".join(f"\n  unreadable: {u}" for u in r.unreadable))


async def policy_list(args: argparse.Namespace) -> None:
    from client.casework import CaseworkClient

    pack = CaseworkClient(None).pack()
    rows = [{"id": p.id, "title": p.title, "category": p.category, "ground": p.ground,
             "severity": p.severity, "queue": p.queue, "priority": p.priority.value,
             "default_actions": [a.value for a in p.default_actions],
             "auto_enforce_threshold": p.auto_enforce_threshold} for p in pack.policies]
    emit(args, rows, lambda rs: "\n".join(
        f"{r['id']:<18} {r['priority']} {r['queue']:<16} {r['severity']:<8} {r['title']}"
        for r in rs))


def _sandbox() -> Any:
    from config.settings import Settings
    from marketplace.sandbox import SandboxMarketplace

    return SandboxMarketplace(Settings().sandbox_db)


async def sandbox_list(args: argparse.Namespace) -> None:
    kind = SubjectKind(args.kind) if args.kind else None
    rows = _sandbox().list(kind, limit=args.limit, shop=args.shop)
    if args.ids:  # a takedown's id file
        emit(args, rows, lambda rs: "\n".join(r["subject"] for r in rs))
        return
    emit(args, rows, lambda rs: "\n".join(
        f"{r['subject']:<16} {r['status']:<17} {r.get('title') or r.get('name')}" for r in rs))


async def sandbox_show(args: argparse.Namespace) -> None:
    from marketplace.base import SubjectNotFound

    try:
        row = _sandbox().show(Subject.parse(args.subject))
    except SubjectNotFound as e:
        raise errors.NotFound(str(e)) from None
    emit(args, row, lambda r: json.dumps(r, indent=2))


async def sandbox_load(args: argparse.Namespace) -> None:
    from marketplace import demo

    sandbox = _sandbox()
    sandbox.load(*demo.generate())
    emit(args, {"listings": len(sandbox.list(SubjectKind.LISTING))},
          lambda r: f"sandbox holds {r['listings']} listings")


async def sandbox_wave(args: argparse.Namespace) -> None:
    """A drill: a coordinated cluster of new sellers lists violating items, each reported."""
    import uuid
    from datetime import UTC, datetime

    from marketplace.sandbox import wave

    if not 1 <= args.sellers <= 100 or not args.sellers <= args.listings <= 1000:
        raise errors.InvalidInput("a wave has 1-100 sellers and as many to 1,000 listings")
    c = await connected(args)
    policy = c.pack().by_id.get(args.policy)
    if policy is None:
        raise errors.InvalidInput(f"unknown policy id {args.policy!r}")
    words = " ".join(policy.rules.keywords[:2]) or policy.title
    sellers, shops, listings = wave(args.sellers, args.listings, words, uuid.uuid4().hex[:6],
                                    datetime.now(UTC).date())
    _sandbox().load(sellers, shops, listings)
    for n, item in enumerate(listings):
        await c.open_case(f"listing:{item['id']}", "user_report", reporter=f"wave-buyer-{n}",
                          text=f"this looks like {policy.title.lower()}",
                          policy_hint=policy.id)
    emit(args, {"sellers": [s["id"] for s in sellers], "listings": len(listings),
                "policy": policy.id},
         lambda r: f"{r['listings']} {r['policy']} listings by {', '.join(r['sellers'])}, "
                   f"each reported")


def _directory() -> Any:
    from client.casework import CaseworkClient

    return CaseworkClient(None).directory


async def reviewer_list(args: argparse.Namespace) -> None:
    emit(args, _directory().people(),
          lambda ps: "\n".join(show.person_line(p) for p in ps) or "(nobody)")


async def reviewer_add(args: argparse.Namespace) -> None:
    emit(args, _directory().add(args.person_id, args.name, args.role, args.queue or []),
          show.person_line)


async def reviewer_disable(args: argparse.Namespace) -> None:
    emit(args, _directory().disable(args.person_id), show.person_line)


def _credentials() -> Any:
    from client.credentials import Credentials
    from config.settings import Settings
    from ledger.store import Ledger

    return Credentials(Ledger(Settings().ledger_url))


async def reviewer_password(args: argparse.Namespace) -> None:
    """The password from stdin (its first line), never from the command line; asked for
    without echo on a terminal."""
    password = (getpass.getpass(f"password for {args.person_id}: ") if sys.stdin.isatty()
                else sys.stdin.readline().rstrip("\n"))
    _credentials().set_password(args.person_id, password)
    emit(args, {"person_id": args.person_id, "password_set": True},
          lambda r: f"password set for {r['person_id']}")


async def token_create(args: argparse.Namespace) -> None:
    from client.credentials import TOKEN_DAYS

    days = TOKEN_DAYS if args.days is None else args.days
    token_id, token = _credentials().create_token(args.owner, args.scope or [], days)
    emit(args, {"token_id": token_id, "owner": args.owner, "token": token, "days": days},
          lambda r: f"{r['token']}\n(token id {r['token_id']}; valid "
                    f"{str(r['days']) + ' days' if r['days'] else 'until revoked'}; "
                    "shown once: keep it secret)")


async def token_list(args: argparse.Namespace) -> None:
    rows = _credentials().ledger.tokens(args.owner)
    emit(args, rows, lambda rs: "\n".join(
        f"{r['token_id']}  {r['owner']:<20} {'person' if r['person'] else 'service':<8} "
        f"{','.join(r['scopes']) or '-':<30} made {r['created_at'][:16]}"
        f"{'  expires ' + r['expires_at'][:16] if r['expires_at'] else ''}"
        f"{'  revoked ' + r['revoked_at'][:16] if r['revoked_at'] else ''}" for r in rs)
        or "no tokens")


async def token_revoke(args: argparse.Namespace) -> None:
    _credentials().revoke(args.token_id)
    emit(args, {"token_id": args.token_id, "revoked": True},
          lambda r: f"revoked token {r['token_id']}")


def _long_lived() -> None:
    """A server process once imported: what its imports made (pandas, scipy, pydantic's models:
    most of its heap) is put out of the garbage collector's walk, so a full collection visits
    only what the process made since (a worker with 10,000 open cases paused up to 330 ms in
    one before: the p99 of a claim)."""
    gc.freeze()


async def api_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from api.app import create_app
    from client.casework import CaseworkClient
    from config.settings import Settings
    from config.telemetry import exported

    settings = Settings()
    host, port = args.host or settings.api_host, args.port or settings.api_port
    app = create_app(lambda: CaseworkClient.connect(profile=args.profile, address=args.address))
    # No proxy headers: a caller's X-Forwarded-For never moves the address sign-ins count by.
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                           proxy_headers=False))
    print(f"casework console and API on http://{host}:{port} (reference at /docs, metrics "
          "at /metrics)", flush=True)
    _long_lived()
    with exported("api", None):  # its metrics at its own /metrics
        await server.serve()


@contextlib.contextmanager
def _invalid_input() -> Iterator[None]:
    try:
        yield
    except ValueError as e:
        raise errors.InvalidInput(str(e)) from None


async def sandbox_fail(args: argparse.Namespace) -> None:
    with _invalid_input():
        fault = _sandbox().fail(args.operation, args.mode, args.for_s)
    emit(args, fault, show.drill_line)


async def sandbox_heal(args: argparse.Namespace) -> None:
    with _invalid_input():
        healed = _sandbox().heal(args.operation)
    emit(args, {"healed": healed}, lambda r: "\n".join(
        f"healed {f['operation']} ({f['mode']})" for f in r["healed"]) or "no drill was in force")


async def worker(args: argparse.Namespace) -> None:
    import logging

    import worker as worker_module
    from config.settings import Settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # Every workflow the worker has not cached is built anew in the sandbox, its modules
    # imported again: from bytecode, not compiled from source each time (a fifth of its CPU).
    worker_module.use_bytecode_cache(Settings())
    _long_lived()
    await worker_module.run(address=args.address, profile=args.profile)


async def codec_server(args: argparse.Namespace) -> None:
    from client import codec_server
    from config.settings import Settings

    with codec_server.build(Settings()).start() as server:
        print(f"codec endpoint on {server.url}; Ctrl-C stops it", flush=True)
        await asyncio.Event().wait()


def lifecycles() -> dict[str, Any]:
    from domain.lifecycles import LIFECYCLES

    return LIFECYCLES


async def lifecycle(args: argparse.Namespace) -> None:
    from domain.engine import mermaid
    from domain.lifecycles import LIFECYCLES

    declaration = LIFECYCLES[args.machine]
    if args.format == "mermaid":
        print(mermaid(declaration))
    else:
        emit(args, {"name": declaration.name, "states": declaration.states,
                     "transitions": declaration.transitions},
              lambda d: "\n".join(f"{t['trigger']:<20} {t['source']} -> {t['dest'] or '(same)'}"
                                  for t in d["transitions"]))

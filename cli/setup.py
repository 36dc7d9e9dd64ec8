"""`casework setup`: make a Temporal namespace ready for casework on a server `make run` did not
start (a self-hosted cluster, Temporal Cloud). It connects through Temporal's environment
configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*,
TEMPORAL_PROFILE, or `--address`/`--profile`), checks that the namespace exists and this caller
may use it, and registers casework's search attributes, idempotently. It carries no payloads, so
it needs no payload keys."""

from __future__ import annotations

import argparse
from typing import Any

from cli.show import emit


async def setup(args: argparse.Namespace) -> None:
    from config.connection import check, connect, register

    client = await connect(profile=args.profile, address=args.address, codec=False)
    namespace = await check(client)
    registration = await register(client)
    emit(args, {**namespace.model_dump(), "search_attributes": registration.model_dump(),
                "ready": True}, _said)


def _said(r: dict[str, Any]) -> str:
    how = ("TLS" if r["tls"] else "plaintext") + (", API key" if r["api_key"] else "")
    attributes = r["search_attributes"]
    added = ", ".join(attributes["added"]) or "none"
    return (f"Temporal {r['server_version']} at {r['address']} ({how}), namespace "
            f"{r['namespace']}\nsearch attributes added: {added}; already there: "
            f"{len(attributes['present'])}\nready: casework worker and casework api processes "
            "with this configuration can run")

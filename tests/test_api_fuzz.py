"""The whole API fuzzed from its own OpenAPI document (Schemathesis) with a person's token and a
service's, a few hundred requests in all: no 5xx, and every answer as documented (its status,
its content type, its body's schema)."""

from __future__ import annotations

import asyncio

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from client.casework import CaseworkClient
from client.credentials import Credentials

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = 4  # per operation and token: about 50 operations, two tokens
SKIPPED = {"/api/logout", "/api/token/refresh"}  # they would end the fuzzer's own token


def fuzz(url: str, token: str) -> list[str]:
    """Every operation's generated requests, checked; what failed, one line each."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED:
            continue

        @hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                             database=None, phases=[hypothesis.Phase.generate],
                             suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(base_url=url, headers=headers, checks=CHECKS, timeout=30)

        try:
            check()
        except Exception as e:  # noqa: BLE001 - every failure is reported, then the test fails
            failures.append(f"{operation.method.upper()} {operation.path}: "
                            f"{' '.join(str(e).split())[:600]}")
    return failures


@pytest.mark.parametrize("who", ["alice", "marketplace"])
async def test_the_api_answers_as_documented_to_a_fuzzer(api_url: str, dev: CaseworkClient,
                                                         who: str) -> None:
    scopes = ["intake", "read", "appeal", "escalate"] if who == "marketplace" else []
    token = Credentials(dev.ledger).create_token(who, scopes)[1]
    failures = await asyncio.to_thread(fuzz, api_url, token)
    assert not failures, "\n".join(failures)

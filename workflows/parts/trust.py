"""The engine's rules of trust applied inside a workflow: an Update's validator refuses a command
that did not arrive sealed, or whose person may not act (`domain.authority`), before the
lifecycle is asked; a signal that did not arrive sealed is dropped."""

from __future__ import annotations

from collections.abc import Iterable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.authority import Command, why_not_command, why_not_sealed
    from domain.core import Sealable
    from domain.errors import Refused, check_intake
    from domain.people import Role


def require(req: Command, roles: Role | Iterable[Role], queue: str | None = None) -> None:
    """For a validator: the intake rules, then who sent it (sealed, authenticated, qualified,
    for this record: its first run id, which a continue-as-new keeps)."""
    check_intake(req)
    record = workflow.info().first_execution_run_id
    if reason := why_not_command(req, roles, queue, record):
        raise Refused(reason)


def require_sealed(message: Sealable) -> None:
    """For a validator of a message from casework's own processes (a report, a hand-back)."""
    check_intake(message)
    if reason := why_not_sealed(message):
        raise Refused(reason)


def sealed_signal(message: Sealable) -> bool:
    """Whether a signal may be taken: sealed (runs from before this rule took every signal)."""
    if message.sealed or not workflow.patched("signals-sealed"):
        return True
    workflow.logger.warning("dropped a %s signal that was not sealed", type(message).__name__)
    return False

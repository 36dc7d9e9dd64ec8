"""The engine's rules of trust applied inside a workflow: an Update's validator refuses a command
that did not arrive sealed, or whose person may not act (`domain.authority`), before the
lifecycle is asked; a signal that did not arrive sealed is dropped."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.worker import (
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

with workflow.unsafe.imports_passed_through():
    from domain.authority import Command, why_not_command, why_not_sealed
    from domain.core import Sealable
    from domain.errors import CaseworkError, Refused, check_intake
    from domain.people import Role

T = TypeVar("T")
MAX_TAKEN = 500  # nonces a record keeps (a continue-as-new carries them)


def require(req: Command, roles: Role | Iterable[Role], queue: str | None = None) -> None:
    """For a validator: the intake rules, then who sent it (sealed, authenticated, qualified,
    for this record: its first run id, which a continue-as-new keeps; not taken before)."""
    check_intake(req)
    record = workflow.info().first_execution_run_id
    if reason := why_not_command(req, roles, queue, record, _taken()):
        raise Refused(reason)


def _taken() -> list[str]:
    return getattr(workflow.instance().journal.record, "commands", [])  # type: ignore[attr-defined]


class CommandLog(WorkflowInboundInterceptor):
    """Every command a workflow takes leaves its nonce on the record (the last MAX_TAKEN): the
    same sealed command sent again under another Update id is refused (`require`). Runs on
    replay as it ran, so the record is the same.

    A refusal a handler meets after its validator passed (another command of the same workflow
    task got there first) fails the Update, typed as casework's error, never the task."""

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        _take(input.args)
        try:
            return await super().handle_update_handler(input)
        except CaseworkError as e:
            raise ApplicationError(str(e), type=type(e).__name__, non_retryable=True) from None

    async def handle_signal(self, input: HandleSignalInput) -> None:
        _take(input.args)
        await super().handle_signal(input)


def _take(args: Sequence[Any]) -> None:
    for arg in args:
        if isinstance(arg, Command) and arg.acting and arg.acting.nonce:
            record = workflow.instance().journal.record  # type: ignore[attr-defined]
            record.commands = [*record.commands, arg.acting.nonce][-MAX_TAKEN:]


class Trust(Interceptor):
    """The worker's interceptor: `CommandLog` on every workflow."""

    def workflow_interceptor_class(
            self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return CommandLog


def require_sealed(message: Sealable) -> None:
    """For a validator of a message from casework's own processes (a report, a hand-back)."""
    check_intake(message)
    if reason := why_not_sealed(message):
        raise Refused(reason)


def carried(state: T | None) -> T | None:
    """The state a run carries, taken only from a run of this same record continuing as new: a
    start that brings a state of its own (`temporal workflow start --input …`) starts afresh."""
    info = workflow.info()
    if (state is None or not info.continued_run_id
            or getattr(state, "case_uid", None) != info.first_execution_run_id):
        return None
    return state


def refuse_unsealed_start(inp: Sealable) -> None:
    """A start whose input did not come sealed from casework fails at once, having done nothing
    (runs from before started from any input): a failed run is no record (a ledger rebuild
    skips it)."""
    if inp.sealed or not workflow.patched("starts-sealed"):
        return
    raise ApplicationError("refused: the start's input was not encrypted with a current "
                           "casework key", type="Refused", non_retryable=True)


def sealed_signal(message: Sealable) -> bool:
    """Whether a signal may be taken: sealed, and a person's (an ops note) sealed for this
    record (runs from before these rules took every signal)."""
    if not message.sealed and workflow.patched("signals-sealed"):
        workflow.logger.warning("dropped a %s signal that was not sealed",
                                type(message).__name__)
        return False
    record = workflow.info().first_execution_run_id
    if isinstance(message, Command) and (
            message.acting is None or message.acting.record != record
            or message.acting.nonce in _taken()[:-1]) and workflow.patched("signals-bound"):
        workflow.logger.warning("dropped a %s signal sealed for another record",
                                type(message).__name__)
        return False
    return True

"""A person's command as an Update, registered from its line in the lifecycle's table
(`domain.commands.CommandSpec`): the Update's name, and one validator for every command that
asks who sent it (sealed, the person the client authenticated, active, with the role, in the
record's queue unless the table says any queue) and then the lifecycle (the trigger may fire,
its guard's reason is None). A refused command writes nothing to history."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.authority import Command
    from domain.commands import CommandSpec
    from domain.engine import Lifecycle
    from domain.people import Role
    from workflows.parts.trust import require


def command(spec: CommandSpec) -> Callable[[Callable[..., Any]], Any]:
    """Decorate the Update's effect (an async method taking `spec.model`)."""

    def register(effect: Callable[..., Any]) -> Any:
        def validate(self: Any, req: Command) -> None:
            allowed(self.lc, spec.trigger, req, spec.roles,
                    None if spec.any_queue else self.journal.record.queue)

        # the SDK asks a validator to take what its Update takes
        validate.__signature__ = inspect.signature(effect).replace(  # type: ignore[attr-defined]
            return_annotation=None)
        update = workflow.update(name=spec.update_name)(effect)
        update.validator(validate)
        return update

    return register


def allowed(lc: Lifecycle, trigger: str, req: Command, roles: Role | frozenset[Role],
            queue: str | None) -> None:
    """Who sent it (a person with the role, in `queue` unless None), then the lifecycle."""
    require(req, roles, queue)
    lc.check(trigger, *([req] if trigger in lc.declaration.reasons else []))

"""A person's commands on a record, each declared once as a line of its lifecycle's table.

A `CommandSpec` names the command, its request model (whose `PERSON` field says who acts), the
lifecycle trigger it fires, the roles that may send it and whether they must work the record's
queue. From that line: the workflow registers the Update and its validator
(`workflows.parts.commands.command`), the client runs it after one directory check
(`CaseworkClient.run`), the HTTP route and its OpenAPI body are made (`api.routes.commands`),
the CLI's subcommand and options are built from the model's fields (help from their
descriptions, the values of their enums), and the console's forms post to it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pydantic.fields import FieldInfo

from domain.authority import Command
from domain.core import CaseSummary
from domain.people import Role


@dataclass(frozen=True)
class CommandSpec:
    name: str  # `casework <group> <name>`, the console's form, the Update unless `update` says
    model: type[Command]
    trigger: str  # the lifecycle trigger it fires
    roles: Role | frozenset[Role]
    help: str
    path: str  # the HTTP route under the record: POST /api/<records>/{id}/<path>
    any_queue: bool = False  # else the person works the record's queue
    update: str = ""
    answer: type = CaseSummary
    fields: tuple[str, ...] | None = None  # what a caller sends (None: all but the person)
    required: tuple[str, ...] = ()  # sent always, though the model has a default
    lifecycle: str = ""  # set by `table`

    @property
    def update_name(self) -> str:
        return self.update or self.name

    @property
    def person(self) -> str:
        """The request's field that names who acts: the signed-in person, never the body."""
        return self.model.PERSON

    @property
    def body(self) -> dict[str, FieldInfo]:
        """The fields a caller sends (who acts, and how it is sealed, are not theirs to say)."""
        return {n: f for n, f in self.model.model_fields.items()
                if n not in (self.person, "acting")
                and (self.fields is None or n in self.fields)}

    def request(self, person: str, body: dict[str, Any]) -> dict[str, Any]:
        """The request's fields: the body's (those given) and the person."""
        return {**{k: v for k, v in body.items() if k in self.body and v is not None},
                self.person: person}


def table(lifecycle: str, *specs: CommandSpec) -> dict[str, CommandSpec]:
    """A lifecycle's commands by name."""
    return {s.name: replace(s, lifecycle=lifecycle) for s in specs}

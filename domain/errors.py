"""Typed errors shared by the workflow, the client and the CLI.

Workflows raise them across the Temporal boundary as `ApplicationError(type=<class name>)`;
the client turns that type back into the class, so callers catch the same exception either way.
"""

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=StrEnum)


class CaseworkError(Exception):
    """Base of every error casework reports to a caller."""


class InvalidInput(CaseworkError):
    """The request is malformed or names something that does not exist (policy, action)."""


class Refused(CaseworkError):
    """The request is well-formed but not allowed in the case's current state or by this actor."""


class Closed(Refused):
    """The case has ended: its workflow takes no more commands."""


class NotFound(CaseworkError):
    """No such case."""


class EmptyQueue(CaseworkError):
    """Nothing claimable in the queue."""


class Unavailable(CaseworkError):
    """The Temporal server or a store cannot be reached."""


class Forbidden(CaseworkError):
    """Authenticated, but this caller may not do this."""


BY_NAME: dict[str, type[CaseworkError]] = {
    cls.__name__: cls for cls in (InvalidInput, Refused, NotFound, EmptyQueue, Unavailable)
}


def first_problem(e: ValidationError) -> str:
    """The first thing pydantic found wrong, as one line: `field: message`."""
    first = e.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


# Validation context for input arriving at casework: the intake rules (caps, characters) apply.
INTAKE = {"intake": True}


def build(model: type[M], **fields: Any) -> M:
    """Construct a request model under the intake rules; bad fields become InvalidInput."""
    try:
        return model.model_validate(fields, context=INTAKE)
    except ValidationError as e:
        raise InvalidInput(first_problem(e)) from None


def check_intake(value: BaseModel) -> None:
    """Raise InvalidInput unless `value` (decoded leniently) meets the intake rules."""
    build(type(value), **value.model_dump())


def parse_members(kind: type[E], names: Sequence[str | E], what: str) -> list[E]:
    """Names to members of `kind`; unknown ones are InvalidInput listing the known values."""
    try:
        return [kind(n) for n in names]
    except ValueError:
        bad = [str(n) for n in names if n not in kind.__members__.values()]
        known = ", ".join(m.value for m in kind)
        raise InvalidInput(f"unknown {what}(s) {', '.join(bad)}; known: {known}") from None

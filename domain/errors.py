"""Typed errors shared by the workflow, the client and the CLI.

Workflows raise them across the Temporal boundary as `ApplicationError(type=<class name>)`;
the client turns that type back into the class, so callers catch the same exception either way.
"""


class CaseworkError(Exception):
    """Base of every error casework reports to a caller."""


class InvalidInput(CaseworkError):
    """The request is malformed or names something that does not exist (policy, action)."""


class Refused(CaseworkError):
    """The request is well-formed but not allowed in the case's current state or by this actor."""


class NotFound(CaseworkError):
    """No such case."""


class EmptyQueue(CaseworkError):
    """Nothing claimable in the queue."""


class Unavailable(CaseworkError):
    """The Temporal server or a store cannot be reached."""


BY_NAME: dict[str, type[CaseworkError]] = {
    cls.__name__: cls for cls in (InvalidInput, Refused, NotFound, EmptyQueue, Unavailable)
}

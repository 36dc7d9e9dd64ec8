"""The CLI's subcommands for the commands of the lifecycles' tables (`domain.commands`): the
options from the request model's fields (flags from their names or `FLAGS`, help from
their descriptions, the values of their enums), and the API call that runs them."""

from __future__ import annotations

import argparse
from enum import Enum
from typing import Any, get_args, get_origin

from pydantic.fields import FieldInfo

from domain.appeal.commands import APPEAL_COMMANDS
from domain.commands import CommandSpec
from domain.escalation.commands import ESCALATION_COMMANDS
from domain.qa.commands import QA_COMMANDS
from domain.review.commands import REVIEW_COMMANDS
from domain.shop_review.commands import SHOP_COMMANDS
from domain.takedown.commands import TAKEDOWN_COMMANDS

# group -> (the record's positional argument, its API path, its lifecycle's table)
GROUPS: dict[str, tuple[str, str, dict[str, CommandSpec]]] = {
    "case": ("case_id", "/api/cases/{case_id}", REVIEW_COMMANDS),
    "appeal": ("appeal_id", "/api/appeals/{appeal_id}", APPEAL_COMMANDS),
    "escalation": ("escalation_id", "/api/escalations/{escalation_id}", ESCALATION_COMMANDS),
    "takedown": ("job_id", "/api/takedowns/{job_id}", TAKEDOWN_COMMANDS),
    "shop": ("review_id", "/api/shop-reviews/{review_id}", SHOP_COMMANDS),
    "qa": ("qa_id", "/api/qa/{qa_id}", QA_COMMANDS),
}


def commands(group: str) -> dict[str, CommandSpec]:
    """The table commands of a CLI group (none for a group without a table)."""
    return GROUPS[group][2] if group in GROUPS else {}


# The CLI's names for fields whose flag is not their own name (one policy or action a flag).
FLAGS = {"policy_ids": "--policy", "actions": "--action"}


def option(name: str, f: FieldInfo, required: bool) -> tuple[tuple[str, ...], dict[str, Any]]:
    flag = FLAGS.get(name, "--" + name.replace("_", "-"))
    opts: dict[str, Any] = {"dest": name, "help": f.description}
    kind = f.annotation
    if get_origin(kind) is list:
        opts["nargs"] = "+"
        kind = get_args(kind)[0]
    if kind is bool:
        opts["action"] = "store_true"
        return (flag,), opts
    opts["required"] = required
    opts["metavar"] = flag.lstrip("-").upper()
    if isinstance(kind, type) and issubclass(kind, Enum):  # checked with the model's message
        opts["help"] = "|".join(m.value for m in kind)
    return (flag,), opts


def arguments(group: str, spec: CommandSpec) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    record = GROUPS[group][0]
    return [((record,), {}), *(option(n, f, f.is_required() or n in spec.required)
                               for n, f in spec.body.items())]


def body(spec: CommandSpec, args: argparse.Namespace) -> dict[str, Any]:
    return {n: getattr(args, n) for n in spec.body if getattr(args, n, None) is not None}

"""The HTTP routes of the commands declared in the lifecycles' tables (`domain.commands`): one
`POST /api/<records>/{id}/<path>` per line, its body the request model's fields less the person
(who is the signed-in caller), each safe to send again with its Idempotency-Key.

(No `from __future__ import annotations` here: FastAPI reads the made routes' annotations.)"""

from copy import copy
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, create_model
from pydantic_core import PydanticUndefined

from api.deps import AsPerson, Client, In, RequestId
from domain.appeal.commands import APPEAL_COMMANDS
from domain.commands import CommandSpec
from domain.escalation.commands import ESCALATION_COMMANDS
from domain.qa.commands import QA_COMMANDS
from domain.review.commands import REVIEW_COMMANDS
from domain.shop_review.commands import SHOP_COMMANDS
from domain.takedown.commands import TAKEDOWN_COMMANDS

router = APIRouter(prefix="/api")


def body_model(spec: CommandSpec) -> type[BaseModel] | None:
    """The route's JSON body, from the request model's fields (None: it takes none); a field
    the table requires keeps its constraints and loses its default."""
    if not spec.body:
        return None
    fields: dict[str, Any] = {}
    for name, f in spec.body.items():
        if name in spec.required:
            f = copy(f)
            f.default = PydanticUndefined
        fields[name] = (f.annotation, f)
    return create_model(f"{spec.lifecycle.title().replace('_', '')}{spec.name.title()}In",
                        __base__=In, **fields)


def add(spec: CommandSpec, records: str, tag: str) -> None:
    """`POST /api/{records}/{record_id}/{spec.path}`, running `spec` as the caller."""
    body = body_model(spec)

    async def without_body(record_id: str, c: Client, who: AsPerson,
                           request_id: RequestId) -> Any:
        return await c.run(spec, record_id, who.id, {}, request_id)

    async def with_body(record_id: str, payload: body, c: Client,  # type: ignore[valid-type]
                        who: AsPerson, request_id: RequestId) -> Any:
        return await c.run(spec, record_id, who.id, payload.model_dump(exclude_unset=True),
                           request_id)

    route = without_body if body is None else with_body
    name = f"{spec.lifecycle}_{spec.name}"
    route.__name__ = name
    router.add_api_route(f"/{records}/{{record_id}}/{spec.path}", route, methods=["POST"],
                         response_model=spec.answer, tags=[tag], operation_id=name,
                         summary=spec.help[:1].upper() + spec.help[1:])


for _table, _records, _tag in (
        (REVIEW_COMMANDS, "cases", "cases"), (APPEAL_COMMANDS, "appeals", "appeals"),
        (ESCALATION_COMMANDS, "escalations", "escalations"),
        (TAKEDOWN_COMMANDS, "takedowns", "takedowns"),
        (SHOP_COMMANDS, "shop-reviews", "takedowns"), (QA_COMMANDS, "qa", "qa")):
    for _spec in _table.values():
        add(_spec, _records, _tag)

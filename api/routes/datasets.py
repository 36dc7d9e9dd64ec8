"""Validation sets of final labels, for the model team (leads and admins export them)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import Field

from api.deps import AsPerson, Client, In
from domain.datasets.build import jsonl
from domain.datasets.query import MAX_SIZE, DatasetQuery, Stratum, parse_until
from domain.errors import build
from domain.reports import at
from domain.text import Ident

router = APIRouter(tags=["datasets"])
NDJSON = "application/x-ndjson"
When = Annotated[str | None, Field(max_length=64, description="YYYY-MM-DD or an ISO time")]


class DatasetIn(In):
    policies: list[Ident] = Field(min_length=1, max_length=50)
    since: When = None
    until: When = Field(default=None, description="default: the start of today (UTC)")
    size: int | None = Field(default=None, ge=1, le=MAX_SIZE)
    stratify: list[Stratum] = Field(default_factory=list, max_length=2)
    split: dict[str, float] = Field(default_factory=lambda: {"validation": 0.2},
                                    max_length=10)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    include_provisional: bool = False


def query_of(body: DatasetIn) -> DatasetQuery:
    return build(DatasetQuery, **body.model_dump(exclude={"since", "until"}),
                 since=at(body.since, "since") if body.since else None,
                 until=parse_until(body.until, datetime.now(UTC)))


@router.post("/api/datasets", response_class=StreamingResponse, responses={200: {
    "content": {NDJSON: {}}, "description": "JSON lines: the head (`manifest`, `datasheet`), "
    "then one row per line in the file's order"}})
async def export_dataset(body: DatasetIn, c: Client, who: AsPerson) -> StreamingResponse:
    """A validation set: one row per decided subject with its final label (after QA and
    appeals), split without leakage, seller and shop pseudonymised; its manifest and
    datasheet first, then its rows (made as they are sent). The same query and seed give the
    same rows; a refusal comes before any line."""
    export = await c.dataset(who.id, query_of(body))

    def lines() -> Iterator[str]:  # Starlette iterates it in a thread
        yield export.head.model_dump_json() + "\n"
        batch: list[str] = []
        for line in jsonl(export.rows()):
            batch.append(line)
            if len(batch) == 1000:
                yield "".join(batch)
                batch = []
        yield "".join(batch)

    return StreamingResponse(lines(), media_type=NDJSON)

"""Validation sets through the client: who may export (leads and admins), the pseudonyms' key
(derived from casework's secret key per seed), and the files a set is written as (Parquet and
JSON lines with its manifest and datasheet, all or nothing) and read back for an evaluation."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from client.base import ClientBase
from config.codec import Keyring
from domain.datasets.build import DatasetRow, Export, Head, build
from domain.datasets.query import EXPORTERS, DatasetQuery
from domain.errors import InvalidInput, NotFound, Unavailable
from domain.review.lifecycle import REVIEW

_STEP = pa.struct([("step", pa.string()), ("label", pa.string()), ("at", pa.string()),
                   ("automated", pa.bool_()), ("outcome", pa.string())])
SCHEMA = pa.schema([
    ("id", pa.string()), ("split", pa.string()), ("policy", pa.string()), ("label", pa.string()),
    ("first_label", pa.string()), ("provisional", pa.bool_()), ("subject_kind", pa.string()),
    ("title", pa.string()), ("description", pa.string()), ("category", pa.string()),
    ("price", pa.float64()), ("image_hashes", pa.list_(pa.string())), ("seller", pa.string()),
    ("shop", pa.string()), ("pack_version", pa.string()), ("decided_at", pa.string()),
    ("detector_model", pa.string()), ("detector_version", pa.string()),
    ("detector_score", pa.float64()), ("provenance", pa.list_(_STEP))])


def casework_version() -> str:
    try:
        return version("casework")
    except PackageNotFoundError:
        return "unknown"


class Datasets(ClientBase):
    async def dataset(self, person_id: str, query: DatasetQuery) -> Export:
        """A validation set of final labels (leads and admins)."""
        self.directory.require(person_id, EXPORTERS)
        known = self.pack().by_id
        if unknown := [p for p in query.policies if p not in known]:
            raise InvalidInput(f"unknown policy id(s) {', '.join(map(repr, unknown))}")
        rows = await asyncio.to_thread(self.ledger.labelled, query.since, query.until)
        asked = hashlib.sha256(query.model_dump_json().encode()).hexdigest()
        key = Keyring.configured(self.settings).derived(f"dataset:{asked}")
        return await asyncio.to_thread(build, query, rows, REVIEW.final, key,
                                       casework_version())


class SetWriter:
    """A set's files in `out` (new, or empty): rows added one at a time (Parquet in row
    groups), written beside it and moved in whole once every row is in and the content hash
    is the manifest's; nothing is left behind otherwise."""

    BATCH = 5000

    @staticmethod
    def check(out: Path) -> None:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise InvalidInput(f"{out} exists and is not an empty folder: nothing written")

    def __init__(self, out: Path) -> None:
        self.check(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
        self._jsonl = (self.tmp / "rows.jsonl").open("w", encoding="utf-8")
        self._parquet = pq.ParquetWriter(self.tmp / "rows.parquet", SCHEMA, compression="zstd")
        self._batch: list[dict[str, object]] = []
        self._digest = hashlib.sha256()

    def add(self, row: DatasetRow) -> None:
        line = row.model_dump_json() + "\n"
        self._jsonl.write(line)
        self._digest.update(line.encode())
        self._batch.append(row.model_dump(mode="json"))
        if len(self._batch) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._parquet.write_table(pa.Table.from_pylist(self._batch, schema=SCHEMA))
            self._batch = []

    def finish(self, head: Head) -> None:
        self._flush()
        self._parquet.close()
        self._jsonl.close()
        if self._digest.hexdigest() != head.manifest.content_sha256:
            raise Unavailable("the set's rows do not match its manifest (cut short?): nothing "
                              "written; export it again")
        (self.tmp / "manifest.json").write_text(
            json.dumps(head.manifest.model_dump(mode="json"), indent=2, sort_keys=True) + "\n",
            encoding="utf-8")
        (self.tmp / "DATASHEET.md").write_text(head.datasheet, encoding="utf-8")
        if self.out.exists():
            self.out.rmdir()
        os.replace(self.tmp, self.out)

    def abandon(self) -> None:
        self._jsonl.close()
        with contextlib.suppress(Exception):
            self._parquet.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def read_rows(folder: Path) -> list[DatasetRow]:
    """A written set's rows (from its JSON lines)."""
    path = folder / "rows.jsonl"
    if not path.is_file():
        raise NotFound(f"{folder} holds no validation set (no rows.jsonl)")
    with path.open(encoding="utf-8") as f:
        return [DatasetRow.model_validate_json(line) for line in f if line.strip()]

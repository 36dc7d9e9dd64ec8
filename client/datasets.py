"""Validation sets through the client: who may export (leads and admins), the pseudonyms' key
(derived from casework's secret key per seed), and the files a set is written as (Parquet and
JSON lines with its manifest and datasheet, all or nothing) and read back for an evaluation."""

from __future__ import annotations

import asyncio
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
from domain.datasets.build import Dataset, DatasetRow, build
from domain.datasets.query import EXPORTERS, DatasetQuery
from domain.errors import InvalidInput, NotFound
from domain.review.lifecycle import REVIEW

FILES = ("rows.parquet", "rows.jsonl", "manifest.json", "DATASHEET.md")
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
    async def dataset(self, person_id: str, query: DatasetQuery) -> Dataset:
        """A validation set of final labels (leads and admins)."""
        self.directory.require(person_id, EXPORTERS)
        known = self.pack().by_id
        if unknown := [p for p in query.policies if p not in known]:
            raise InvalidInput(f"unknown policy id(s) {', '.join(map(repr, unknown))}")
        rows = await asyncio.to_thread(self.ledger.labelled, query.since, query.until)
        key = Keyring.configured(self.settings).derived(f"dataset:{query.seed}")
        return await asyncio.to_thread(build, query, rows, REVIEW.final, key,
                                       casework_version())


def write_dataset(out: Path, ds: Dataset) -> None:
    """The set's files in `out` (new, or empty), written beside it first and moved in whole."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidInput(f"{out} exists and is not an empty folder: nothing written")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        rows = [r.model_dump(mode="json") for r in ds.rows]
        pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), tmp / "rows.parquet",
                       compression="zstd")
        (tmp / "rows.jsonl").write_text(ds.jsonl(), encoding="utf-8")
        (tmp / "manifest.json").write_text(
            json.dumps(ds.manifest.model_dump(mode="json"), indent=2, sort_keys=True) + "\n",
            encoding="utf-8")
        (tmp / "DATASHEET.md").write_text(ds.datasheet, encoding="utf-8")
        if out.exists():
            out.rmdir()
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_rows(folder: Path) -> list[DatasetRow]:
    """A written set's rows (from its JSON lines)."""
    path = folder / "rows.jsonl"
    if not path.is_file():
        raise NotFound(f"{folder} holds no validation set (no rows.jsonl)")
    with path.open(encoding="utf-8") as f:
        return [DatasetRow.model_validate_json(line) for line in f if line.strip()]

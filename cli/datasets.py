"""`casework dataset`: export a validation set through the API and write its files here;
evaluate a model's scores against a set written before (on this machine, nothing sent).

What they write and compute with (pyarrow, networkx, scikit-learn, pandas) is imported when
one of them runs: every other command's process starts without it (~1.5 s of imports).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cli.remote import Emit, remote
from domain.datasets.query import parse_split
from domain.errors import InvalidInput, NotFound, Unavailable

EXPORT_TIMEOUT_S = 300.0
MAX_SCORES = 256 * 2**20


async def dataset_export(args: argparse.Namespace, emit: Emit) -> None:
    from client.datasets import SetWriter
    from domain.datasets.build import DatasetRow, Head

    out = Path(args.out)
    body = {"policies": args.policy, "since": args.since, "until": args.until,
            "size": args.size, "stratify": [s for s in (args.stratify or "").split(",") if s],
            "split": parse_split(args.split), "seed": args.seed,
            "include_provisional": args.include_provisional}
    SetWriter.check(out)  # before asking; nothing is made until the set's head arrives
    head: Head | None = None
    writer: SetWriter | None = None
    try:
        async for line in remote(args).lines("POST", "/api/datasets", body,
                                             timeout=EXPORT_TIMEOUT_S):
            if writer is None:
                head, writer = Head.model_validate_json(line), SetWriter(out)
            else:
                writer.add(DatasetRow.model_validate_json(line))
        if head is None or writer is None:
            raise Unavailable("the API sent no set: nothing written")
        writer.finish(head)
    except BaseException:
        if writer is not None:
            writer.abandon()
        raise
    m = head.manifest
    emit(args, m.model_dump(mode="json"),
         lambda _: f"{m.rows} rows to {out} ("
                   f"{', '.join(f'{k} {v}' for k, v in m.by_split.items())}; {m.groups} groups; "
                   f"left out: {m.left_out or 'none'}); sha256 {m.content_sha256[:16]}…")


async def dataset_evaluate(args: argparse.Namespace, emit: Emit) -> None:
    from client.charts import pr_chart
    from client.datasets import read_rows
    from domain.datasets.evaluate import evaluate, parse_scores

    folder, scores_file = Path(args.dir), Path(args.scores)
    rows = read_rows(folder)
    if not scores_file.is_file():
        raise NotFound(f"no scores file {scores_file}")
    if scores_file.stat().st_size > MAX_SCORES:
        raise InvalidInput(f"{scores_file} is over {MAX_SCORES // 2**20} MiB")
    try:
        text = scores_file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{scores_file} is not UTF-8 text") from None
    found = evaluate(rows, parse_scores(text, {r.id for r in rows}), args.threshold,
                     args.at_precision)
    (folder / "evaluation.json").write_text(
        json.dumps(found.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    (folder / "evaluation-pr.svg").write_text(pr_chart(found), encoding="utf-8")

    def show(_: object) -> str:
        lines = [f"{found.rows} scored rows ({found.unscored} unscored); written "
                 f"{folder / 'evaluation.json'} and {folder / 'evaluation-pr.svg'}"]
        for p in found.policies:
            auc = "—" if p.pr_auc is None else f"{p.pr_auc:.3f}"
            at = ("none reaches it" if p.threshold_at_target is None
                  else f"threshold {p.threshold_at_target:.3f}, recall {p.recall_at_target:.3f}")
            lines.append(f"  {p.policy}: {p.rows} rows, {p.positives} positive; at "
                         f"{p.threshold:.3f}: precision {p.precision:.3f} recall {p.recall:.3f} "
                         f"F1 {p.f1:.3f} (tp {p.tp} fp {p.fp} fn {p.fn} tn {p.tn}); PR-AUC {auc};"
                         f" Brier {p.brier:.3f}; precision {p.target_precision:g}: {at}")
        return "\n".join(lines)

    emit(args, found.model_dump(mode="json"), show)

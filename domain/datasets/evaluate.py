"""A model's scores judged against a validation set's final labels, per policy: precision,
recall and F1 at a threshold, PR-AUC, the threshold that reaches a target precision, confusion
counts, and calibration (Brier score, reliability bins); every figure from scikit-learn."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
from pydantic import Field
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    auc,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    precision_recall_curve,
    precision_recall_fscore_support,
)

from domain.core import Model
from domain.datasets.build import DatasetRow
from domain.errors import InvalidInput

BINS = 10
MAX_NAMED = 10  # bad lines named in one error


class Bin(Model):
    low: float
    high: float
    count: int
    mean_score: float | None
    positive_share: float | None


class PolicyFigures(Model):
    policy: str
    rows: int
    positives: int
    threshold: float
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    tn: int
    pr_auc: float | None  # area under the precision-recall curve (None: one class only)
    average_precision: float | None
    target_precision: float
    threshold_at_target: float | None  # the lowest threshold reaching it (None: none does)
    recall_at_target: float | None
    brier: float
    reliability: list[Bin]
    curve: list[tuple[float, float]] = Field(default_factory=list)  # (recall, precision)


class Evaluation(Model):
    rows: int  # rows of the set with a score
    unscored: int  # rows of the set without one
    splits: dict[str, int]
    policies: list[PolicyFigures]


def parse_scores(text: str, ids: set[str]) -> dict[str, float]:
    """JSON lines `{"id": ..., "score": 0..1}`; every bad line named, or nothing taken."""
    scores: dict[str, float] = {}
    bad: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (ValueError, RecursionError):
            bad.append(f"line {n}: not JSON")
            continue
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            bad.append(f"line {n}: no \"id\"")
            continue
        rid, score = item["id"], item.get("score")
        if rid not in ids:
            bad.append(f"line {n}: unknown id {rid[:64]!r}")
        elif rid in scores:
            bad.append(f"line {n}: id {rid!r} scored twice")
        elif (isinstance(score, bool) or not isinstance(score, int | float)
              or not math.isfinite(score) or not 0 <= score <= 1):
            bad.append(f"line {n}: score {str(score)[:32]!r} is not a number from 0 to 1")
        else:
            scores[rid] = float(score)
    if bad:
        more = f"; and {len(bad) - MAX_NAMED} more" if len(bad) > MAX_NAMED else ""
        raise InvalidInput(f"scores file: {'; '.join(bad[:MAX_NAMED])}{more}; nothing evaluated")
    if not scores:
        raise InvalidInput("the scores file holds no scores")
    return scores


def evaluate(rows: Sequence[DatasetRow], scores: dict[str, float], threshold: float | None = None,
             at_precision: float | None = None) -> Evaluation:
    """Per policy of the set, its scored rows: positive where the final label is the policy."""
    for name, value in (("--threshold", threshold), ("--at-precision", at_precision)):
        if value is not None and not 0 <= value <= 1:
            raise InvalidInput(f"{name} {value} is not from 0 to 1")
    scored = [r for r in rows if r.id in scores]
    splits: dict[str, int] = {}
    for r in scored:
        splits[r.split] = splits.get(r.split, 0) + 1
    figures = []
    for policy in sorted({r.policy for r in scored}):
        mine = [r for r in scored if r.policy == policy]
        y = np.array([int(r.label == policy) for r in mine])
        s = np.array([scores[r.id] for r in mine])
        figures.append(_figures(policy, y, s, threshold, at_precision))
    return Evaluation(rows=len(scored), unscored=len(rows) - len(scored), splits=splits,
                      policies=figures)


def _figures(policy: str, y: np.ndarray, s: np.ndarray, threshold: float | None,
             at_precision: float | None) -> PolicyFigures:
    target = 0.9 if at_precision is None else at_precision
    both = 0 < int(y.sum()) < len(y)
    precision, recall, cuts = precision_recall_curve(y, s) if y.sum() else (
        np.array([1.0]), np.array([0.0]), np.array([]))
    reaching = [i for i in range(len(cuts)) if precision[i] >= target]
    at_target = min(reaching, key=lambda i: cuts[i]) if reaching else None
    cut = threshold if threshold is not None else (
        float(cuts[at_target]) if at_precision is not None and at_target is not None else 0.5)
    predicted = (s >= cut).astype(int)
    p, r, f, _ = precision_recall_fscore_support(y, predicted, average="binary",
                                                 zero_division=0)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, predicted, labels=[0, 1]).ravel())
    edges = np.linspace(0, 1, BINS + 1)  # calibration_curve's uniform bins, empty ones kept
    counts = np.bincount(np.searchsorted(edges[1:-1], s), minlength=BINS)
    share, mean = calibration_curve(y, s, n_bins=BINS, pos_label=1)
    filled = iter(zip(share.tolist(), mean.tolist(), strict=True))
    bins = []
    for b in range(BINS):
        positive, mean_score = next(filled) if counts[b] else (None, None)
        bins.append(Bin(low=round(float(edges[b]), 6), high=round(float(edges[b + 1]), 6),
                        count=int(counts[b]), mean_score=mean_score, positive_share=positive))
    return PolicyFigures(
        policy=policy, rows=len(y), positives=int(y.sum()), threshold=cut, precision=float(p),
        recall=float(r), f1=float(f), tp=tp, fp=fp, fn=fn, tn=tn,
        pr_auc=float(auc(recall, precision)) if both else None,
        average_precision=float(average_precision_score(y, s)) if both else None,
        target_precision=target,
        threshold_at_target=float(cuts[at_target]) if at_target is not None else None,
        recall_at_target=float(recall[at_target]) if at_target is not None else None,
        brier=float(brier_score_loss(y, s, labels=[0, 1])), reliability=bins,
        curve=[(float(a), float(b)) for a, b in zip(recall, precision, strict=True)])

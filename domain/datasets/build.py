"""A validation set from labelled decisions: one row per subject (its latest decision), final
labels only (provisional ones on request), a stratified sample, splits that keep together
whatever could leak (the same seller or shop, the same photo, the same text: connected
components of a graph, networkx), seller and shop ids pseudonymised with a key per export, and
a manifest whose content hash and counts a reader can check. The same query, seed and key
give the same bytes."""

from __future__ import annotations

import hashlib
import hmac
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import networkx as nx
from pydantic import Field

from domain.core import Model, SubjectKind
from domain.datasets.labels import Labelled, Step
from domain.datasets.query import DatasetQuery, Stratum
from domain.errors import InvalidInput
from domain.outcomes import NONE


class DatasetRow(Model):
    """One decided subject: what the reviewer saw, its final label and how it was reached."""

    id: str  # pseudonymous: the case's id keyed per export
    split: str
    policy: str  # the query's policy the row stands for
    label: str  # the final word: a policy id, or `none`
    first_label: str
    provisional: bool
    subject_kind: SubjectKind
    title: str | None
    description: str | None
    category: str | None
    price: float | None
    image_hashes: list[str]
    seller: str | None  # pseudonymous
    shop: str | None  # pseudonymous
    pack_version: str
    decided_at: str
    detector_model: str | None
    detector_version: str | None
    detector_score: float | None
    provenance: list[Step]


class Manifest(Model):
    query: dict[str, Any]
    rows: int
    content_sha256: str  # of rows.jsonl: each row's JSON and a newline, in the file's order
    by_split: dict[str, int]
    by_stratum: dict[str, dict[str, int]]  # "policy=P,label=L" -> split -> rows
    groups: int  # sets of rows kept in one split (same seller, shop, photo or text)
    left_out: dict[str, int]
    pack_versions: list[str]
    casework_version: str
    pseudonyms: str = "HMAC-SHA256 of seller and shop ids, keyed per export seed"


class Dataset(Model):
    manifest: Manifest
    rows: list[DatasetRow] = Field(default_factory=list)
    datasheet: str

    def jsonl(self) -> str:
        return jsonl(self.rows)


def jsonl(rows: Iterable[DatasetRow]) -> str:
    return "".join(r.model_dump_json() + "\n" for r in rows)


def _words(text: str) -> str:
    """Text as near-duplicates share it: case, accents' forms, punctuation and spacing gone."""
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold()))


def _policy_of(row: Labelled, final: str, policies: Sequence[str]) -> str | None:
    """The query's policy a decision stands for: its final label's, its first label's, or the
    first it was considered under; None when it concerns none of them."""
    for candidate in (final, row.label, *sorted(row.seen.considered)):
        if candidate in policies:
            return candidate
    return None


def _sample(rows: list[dict[str, Any]], size: int | None, strata: Sequence[Stratum],
            rng: random.Random) -> list[dict[str, Any]]:
    """`size` rows, each stratum's share kept (largest remainders), drawn by `rng`."""
    rng.shuffle(rows)
    if size is None:
        return rows
    by: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(tuple(r[s.value] for s in strata), []).append(r)
    exact = {k: size * len(v) / len(rows) for k, v in by.items()}
    quota = {k: int(e) for k, e in exact.items()}
    for k in sorted(exact, key=lambda k: (quota[k] - exact[k], k))[:size - sum(quota.values())]:
        quota[k] += 1
    return [r for k in sorted(by) for r in by[k][:quota[k]]]


def _groups(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Rows that could leak into each other, as connected components: a row is joined to its
    seller, shop, photos and normalised text."""
    g = nx.Graph()
    for i, r in enumerate(rows):
        g.add_node(("row", i))
        facts = r["seen"].facts
        keys = [("seller", r["seller_id"]), ("shop", r["shop_id"])]
        if facts is not None:
            keys += [("image", h) for h in facts.image_hashes]
            keys.append(("text", _words(f"{facts.title} {facts.description}")))
        g.add_edges_from((("row", i), k) for k in keys if k[1])
    found = [sorted(n[1] for n in c if n[0] == "row") for c in nx.connected_components(g)]
    return [[rows[i] for i in c] for c in sorted(found)]


def _assign(groups: list[list[dict[str, Any]]], shares: dict[str, float],
            rng: random.Random) -> None:
    """Each group whole into the split furthest below its share (groups in a seeded order)."""
    rng.shuffle(groups)
    total = sum(len(g) for g in groups)
    count = dict.fromkeys(shares, 0)
    for g in groups:
        name = max(shares, key=lambda s: (shares[s] * total - count[s]) / shares[s])
        count[name] += len(g)
        for r in g:
            r["split"] = name


def build(query: DatasetQuery, labelled: Sequence[Labelled], final_states: frozenset[str],
          key: bytes, casework_version: str) -> Dataset:
    """The set `query` asks for from `labelled` (the ledger's decisions of its period)."""
    def pseudonym(kind: str, value: str | None) -> str | None:
        if value is None:
            return None
        return hmac.new(key, f"{kind}:{value}".encode(), "sha256").hexdigest()[:24]

    latest: dict[tuple[str, str], Labelled] = {}
    for row in labelled:  # one row per subject: its latest decision
        subject = (row.seen.subject_kind.value, row.seen.subject_id)
        if subject not in latest or (row.decided_at, row.case_uid) > (
                latest[subject].decided_at, latest[subject].case_uid):
            latest[subject] = row
    rows: list[dict[str, Any]] = []
    left_out = Counter[str]()
    for row in sorted(latest.values(), key=lambda r: r.case_uid):
        final = row.final_label()
        policy = _policy_of(row, final, query.policies)
        if policy is None:
            continue
        provisional = row.provisional(final_states)
        if provisional and not query.include_provisional:
            left_out["provisional"] += 1
            continue
        facts = row.seen.facts
        kind = row.seen.subject_kind
        rows.append({
            "row": row, "seen": row.seen, "policy": policy, "label": final,
            "provisional": provisional,
            "seller_id": facts.seller_id if facts else (
                row.seen.subject_id if kind is SubjectKind.SELLER else None),
            "shop_id": facts.shop_id if facts else (
                row.seen.subject_id if kind is SubjectKind.SHOP else None)})
    for p in query.policies:
        if not any(r["label"] == p for r in rows):
            raise InvalidInput(f"policy {p} has no final labels in this period "
                               f"({sum(r['policy'] == p for r in rows)} decision(s) considered "
                               f"it, none labelled {p})")
    if query.size is not None and query.size > len(rows):
        raise InvalidInput(f"asked for {query.size} rows; {len(rows)} exist for this query")
    rng = random.Random(f"casework-dataset:{query.seed}")
    chosen = _sample(rows, query.size, query.stratify, rng)
    groups = _groups(sorted(chosen, key=lambda r: r["row"].case_uid))
    shares = query.splits()
    _assign(groups, shares, rng)
    out = sorted((_row(r, pseudonym) for r in chosen),
                 key=lambda r: (list(shares).index(r.split), r.id))
    body = jsonl(out)
    strata = query.stratify or [Stratum.POLICY, Stratum.LABEL]
    by_stratum: dict[str, dict[str, int]] = {}
    for r in out:
        name = ",".join(f"{s.value}={getattr(r, s.value)}" for s in strata)
        cell = by_stratum.setdefault(name, dict.fromkeys(shares, 0))
        cell[r.split] += 1
    manifest = Manifest(
        query=query.model_dump(mode="json"), rows=len(out),
        content_sha256=hashlib.sha256(body.encode()).hexdigest(),
        by_split={s: sum(r.split == s for r in out) for s in shares},
        by_stratum=dict(sorted(by_stratum.items())), groups=len(groups),
        left_out=dict(sorted(left_out.items())),
        pack_versions=sorted({r.pack_version for r in out}), casework_version=casework_version)
    return Dataset(manifest=manifest, rows=out, datasheet=datasheet(manifest))


def _row(r: dict[str, Any], pseudonym: Any) -> DatasetRow:
    row: Labelled = r["row"]
    facts, detector = row.seen.facts, row.seen.detector
    return DatasetRow(
        id=pseudonym("case", row.case_uid), split=r["split"], policy=r["policy"],
        label=r["label"], first_label=row.label, provisional=r["provisional"],
        subject_kind=row.seen.subject_kind, title=facts.title if facts else None,
        description=facts.description if facts else None,
        category=facts.category if facts else None, price=facts.price if facts else None,
        image_hashes=list(facts.image_hashes) if facts else [],
        seller=pseudonym("seller", r["seller_id"]), shop=pseudonym("shop", r["shop_id"]),
        pack_version=row.seen.pack_version, decided_at=row.decided_at.isoformat(),
        detector_model=detector.model if detector else None,
        detector_version=detector.version if detector else None,
        detector_score=detector.score if detector else None, provenance=row.steps())


def datasheet(m: Manifest) -> str:
    """DATASHEET.md: what the set holds, how its labels were made, what it leaves out."""
    q = m.query
    splits = ", ".join(f"{name} {n}" for name, n in m.by_split.items())
    strata = "\n".join(f"| {name} | " + " | ".join(str(c.get(s, 0)) for s in m.by_split) + " |"
                       for name, c in m.by_stratum.items())
    period = f"{q['since'] or 'the first decision'} to {q['until']} (exclusive)"
    return f"""# Datasheet: validation set for {', '.join(q['policies'])}

## What is in it
{m.rows} decided subjects (one row each: the latest decision on the subject) decided from
{period}; splits: {splits}. Files: `rows.parquet` and `rows.jsonl` (the same rows, in the same
order), `manifest.json` (the query, counts, pack versions, the SHA-256 of `rows.jsonl`).

Each row holds the subject as the reviewer saw it when screened (title, description, category,
price, image hashes), the final label (a policy id, or `{NONE}` for no violation), the first
decision's label, the policy-pack version the decision cited, the detector's model, version and
score where an automated detector reported it at intake, and the provenance: every word on the
decision in order (decision, QA verdict, adjudication, appeal), never who spoke.

| stratum | {' | '.join(m.by_split)} |
|---|{'---|' * len(m.by_split)}
{strata}

## How the labels were made
A reviewer (or the policy engine, `automated` in the provenance) decided each case under the
policy pack's version shown. A sampled decision was checked blind by a QA reviewer; a
disagreement was adjudicated by a senior who was neither party, whose word is final. An appeal's
verdict comes after both: an overturned or modified decision carries the corrected label.
{"Provisional rows (appeal window or QA still open) are included and marked." if
 q['include_provisional'] else
 f"Decisions whose appeal window, appeal or QA check is still open are left out "
 f"({m.left_out.get('provisional', 0)} here)."}

## Leakage and privacy
Rows that share a seller, a shop, a photo (image hash) or the same normalised text are one
group, and a group lies in one split ({m.groups} groups). Seller and shop ids are pseudonyms
(keyed HMAC-SHA256, the key derived per export seed from casework's secret key): the same seed
gives the same pseudonyms, another seed others. No reporter, reviewer or report text is
included. Calibration (known-answer) cases never appear.

## Known gaps
- Only decisions recorded with their screened subject are here (decisions made before this
  casework version come with `casework ledger rebuild`).
- A subject decided more than once appears once, with its latest decision.
- Labels are one policy per decision (the first cited, by id); a decision citing several
  policies is labelled with one of them.
- Text is the marketplace's at screening: edits made later by the seller are not seen.
"""

"""A validation set from labelled decisions: one row per subject (its latest decision), final
labels only (provisional ones on request), a stratified sample, splits that keep together
whatever could leak (the same seller or shop, the same photo, the same text: connected
components of a graph, networkx), seller and shop ids pseudonymised with a key per export, and
a manifest whose content hash and counts a reader can check; rows are made one at a time
when written. The same query, seed and key give the same bytes."""

from __future__ import annotations

import hashlib
import hmac
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import networkx as nx

from domain.core import Model, SubjectKind
from domain.datasets.labels import Labelled, Step, owners
from domain.datasets.query import DatasetQuery, Stratum
from domain.errors import InvalidInput
from domain.outcomes import NONE

COMMON = 50  # rows a photo or a text may join before it says nothing of near-duplicates


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
    links_ignored: int = 0  # photos or texts too common to join rows (a stock photo)
    left_out: dict[str, int]
    pack_versions: list[str]
    casework_version: str
    pseudonyms: str = "HMAC-SHA256 of seller and shop ids, keyed per export seed"


class Head(Model):
    """What an export says before its rows: the manifest and the datasheet."""

    manifest: Manifest
    datasheet: str


class Chosen(Model):
    """A decision chosen for the set: where it goes and what it stands for."""

    row: Labelled
    policy: str
    label: str
    provisional: bool
    split: str = ""
    id: str = ""


class Export:
    """A set chosen and counted: its head, and its rows made one at a time, in the file's
    order (a set of 100,000 never holds its rows at once)."""

    def __init__(self, head: Head, chosen: list[Chosen], key: bytes) -> None:
        self.head, self._chosen, self._key = head, chosen, key

    def rows(self) -> Iterator[DatasetRow]:
        for c in self._chosen:
            yield _row(c, self._key)


def jsonl(rows: Iterable[DatasetRow]) -> Iterator[str]:
    return (r.model_dump_json() + "\n" for r in rows)


def pseudonym(key: bytes, kind: str, value: str | None) -> str | None:
    if value is None:
        return None
    return hmac.new(key, f"{kind}:{value}".encode(), "sha256").hexdigest()[:24]


def _policy_of(row: Labelled, final: str, policies: Sequence[str]) -> str | None:
    """The query's policy a decision stands for: its final label's, its first label's, or the
    first it was considered under; None when it concerns none of them."""
    for candidate in (final, row.label, *sorted(row.considered)):
        if candidate in policies:
            return candidate
    return None


def _sample(rows: list[Chosen], size: int | None, strata: Sequence[Stratum],
            rng: random.Random) -> list[Chosen]:
    """`size` rows, each stratum's share kept (largest remainders), drawn by `rng`."""
    rng.shuffle(rows)
    if size is None:
        return rows
    by: dict[tuple[str, ...], list[Chosen]] = {}
    for r in rows:
        by.setdefault(tuple(getattr(r, s.value) for s in strata), []).append(r)
    exact = {k: size * len(v) / len(rows) for k, v in by.items()}
    quota = {k: int(e) for k, e in exact.items()}
    for k in sorted(exact, key=lambda k: (quota[k] - exact[k], k))[:size - sum(quota.values())]:
        quota[k] += 1
    return [r for k in sorted(by) for r in by[k][:quota[k]]]


def _groups(rows: list[Chosen]) -> tuple[list[list[Chosen]], int]:
    """Rows that could leak into each other, as connected components: a row is joined to
    what it shares (its seller and shop always; its photos and normalised text unless more
    than COMMON rows share them: a stock photo or a one-word title is no near-duplicate).
    Also how many links were too common to join."""
    common = max(COMMON, len(rows) // 20)
    shared = Counter(link for r in rows for link in set(r.row.links))
    ignored = {link for link, n in shared.items()
               if n > common and not link.startswith(("seller:", "shop:"))}
    g = nx.Graph()
    g.add_nodes_from(range(len(rows)))
    g.add_edges_from((i, link) for i, r in enumerate(rows) for link in r.row.links
                     if link not in ignored)
    found = sorted(sorted(n for n in c if isinstance(n, int)) for c in nx.connected_components(g))
    return [[rows[i] for i in c] for c in found], len(ignored)


def _assign(groups: list[list[Chosen]], shares: dict[str, float], rng: random.Random) -> None:
    """Each group whole into the split furthest below its share (groups in a seeded order)."""
    rng.shuffle(groups)
    total = sum(len(g) for g in groups)
    count = dict.fromkeys(shares, 0)
    for g in groups:
        name = max(shares, key=lambda s: (shares[s] * total - count[s]) / shares[s])
        count[name] += len(g)
        for r in g:
            r.split = name


def build(query: DatasetQuery, labelled: Sequence[Labelled], final_states: frozenset[str],
          key: bytes, casework_version: str) -> Export:
    """The set `query` asks for from `labelled` (the ledger's decisions of its period)."""
    latest: dict[str, Labelled] = {}
    for row in labelled:  # one row per subject: its latest decision
        if row.subject not in latest or (row.decided_at, row.case_uid) > (
                latest[row.subject].decided_at, latest[row.subject].case_uid):
            latest[row.subject] = row
    rows: list[Chosen] = []
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
        rows.append(Chosen(row=row, policy=policy, label=final, provisional=provisional))
    for p in query.policies:
        if not any(r.label == p for r in rows):
            raise InvalidInput(f"policy {p} has no final labels in this period "
                               f"({sum(r.policy == p for r in rows)} decision(s) considered "
                               f"it, none labelled {p})")
    if query.size is not None and query.size > len(rows):
        raise InvalidInput(f"asked for {query.size} rows; {len(rows)} exist for this query")
    rng = random.Random(f"casework-dataset:{query.seed}")
    chosen = _sample(rows, query.size, query.stratify, rng)
    groups, ignored = _groups(sorted(chosen, key=lambda r: r.row.case_uid))
    shares = query.splits()
    _assign(groups, shares, rng)
    if empty := [s for s in shares if not any(c.split == s for c in chosen)]:
        raise InvalidInput(f"the {len(chosen)} rows fall in {len(groups)} group(s) that leak "
                           f"into each other (a seller, shop, photo or text in common): too "
                           f"few to fill split {', '.join(empty)}; nothing written (--split '' "
                           f"puts every row in train)")
    for c in chosen:
        c.id = pseudonym(key, "case", c.row.case_uid) or ""
    order = list(shares)
    chosen.sort(key=lambda c: (order.index(c.split), c.id))
    digest, versions = hashlib.sha256(), set()
    for c in chosen:  # the content hash: each row made once here, again when written
        row = _row(c, key)
        digest.update((row.model_dump_json() + "\n").encode())
        versions.add(row.pack_version)
    strata = query.stratify or [Stratum.POLICY, Stratum.LABEL]
    by_stratum: dict[str, dict[str, int]] = {}
    for c in chosen:
        name = ",".join(f"{s.value}={getattr(c, s.value)}" for s in strata)
        cell = by_stratum.setdefault(name, dict.fromkeys(shares, 0))
        cell[c.split] += 1
    manifest = Manifest(
        query=query.model_dump(mode="json"), rows=len(chosen), content_sha256=digest.hexdigest(),
        by_split={s: sum(c.split == s for c in chosen) for s in shares},
        by_stratum=dict(sorted(by_stratum.items())), groups=len(groups), links_ignored=ignored,
        left_out=dict(sorted(left_out.items())), pack_versions=sorted(versions),
        casework_version=casework_version)
    return Export(Head(manifest=manifest, datasheet=datasheet(manifest)), chosen, key)


def _row(c: Chosen, key: bytes) -> DatasetRow:
    seen = c.row.seen()
    facts, detector = seen.facts, seen.detector
    seller, shop = owners(seen)
    return DatasetRow(
        id=c.id, split=c.split, policy=c.policy, label=c.label, first_label=c.row.label,
        provisional=c.provisional, subject_kind=seen.subject_kind,
        # a seller's or a shop's "title" is its name: left out with the ids
        title=facts.title if facts and seen.subject_kind is SubjectKind.LISTING else None,
        description=facts.description if facts else None,
        category=facts.category if facts else None, price=facts.price if facts else None,
        image_hashes=list(facts.image_hashes) if facts else [],
        seller=pseudonym(key, "seller", seller), shop=pseudonym(key, "shop", shop),
        pack_version=seen.pack_version, decided_at=c.row.decided_at.isoformat(),
        detector_model=detector.model if detector else None,
        detector_version=detector.version if detector else None,
        detector_score=detector.score if detector else None, provenance=c.row.steps())


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
disagreement was adjudicated by a senior who was neither party. An appeal's verdict outranks
that adjudication (an overturned or modified decision carries the corrected label), and a QA
adjudication of the appeal's verdict outranks both.
{"Provisional rows (appeal window or QA still open) are included and marked." if
 q['include_provisional'] else
 f"Decisions whose appeal window, appeal or QA check is still open are left out "
 f"({m.left_out.get('provisional', 0)} here)."}

## Leakage and privacy
Rows that share a seller, a shop, a photo (image hash), the same normalised title or the same
normalised text are one group, and a group lies in one split ({m.groups} groups; {m.links_ignored}
photo(s) or text(s) shared by more than {COMMON} rows, such as a stock photo, joined nothing).
Seller and shop ids are pseudonyms (keyed HMAC-SHA256, the key derived from casework's secret
key for this query and seed): the same query and seed give the same pseudonyms, any other
query or seed others, so two exports cannot be joined by them; a rotated secret key gives new
ones. A seller's or a shop's name is left out. No reporter, reviewer or report text is
included. Calibration (known-answer) cases never appear.

## Known gaps
- Only decisions recorded with their screened subject are here (decisions made before this
  casework version come with `casework ledger rebuild`).
- A subject decided more than once appears once, with its latest decision (while that is
  provisional, the subject is left out).
- Labels are one policy per decision (the first cited, by id); a decision citing several
  policies is labelled with one of them.
- Text is the marketplace's at screening: edits made later by the seller are not seen.
"""

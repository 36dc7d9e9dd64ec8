"""Validation sets on the real servers, through the CLI process: from 500 simulated decisions
with QA adjudications and appeals (written as the workflows write them), every exported row
carries its final label (an overturned one the corrected label), the manifest's counts equal
the rows, no seller spans two splits, two exports with one seed are byte-identical, provisional
decisions are out; a real case opened by a classifier carries its detector's score. The
evaluation's figures equal scikit-learn's on a fixture; bad input is named and writes
nothing."""

from __future__ import annotations

import io
import json
import random
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    f1_score,
    precision_score,
    recall_score,
)
from temporalio.testing import WorkflowEnvironment

from client.casework import CaseworkClient
from client.credentials import Credentials
from config.settings import Settings
from domain.core import Action, Priority, Subject, SubjectFacts, SubjectKind
from domain.datasets.build import DatasetRow, build
from domain.datasets.evaluate import evaluate
from domain.datasets.labels import Check, Labelled, StepKind, Verdict
from domain.datasets.query import DatasetQuery
from domain.outcomes import NONE, AppealOutcome, DecisionOutcome, QaOutcome, Seen
from domain.record import LedgerRecord
from tests.helpers import eventually, signed_in
from tests.test_e2e_cli import cli_env, cli_json, run_cli

START = datetime(2025, 3, 1, tzinfo=UTC)  # a month no other test decides in
POLICIES = ("counterfeit", "price-scam")


def simulate(cw: CaseworkClient, n: int = 500, seed: int = 5) -> dict[str, tuple[str, bool]]:
    """`n` decisions in March 2025 with QA checks, adjudications and appeals; per listing
    title: (its final label, provisional)."""
    rng, run = random.Random(seed), uuid.uuid4().hex[:6]
    expected: dict[str, tuple[str, bool]] = {}
    extra = []
    for i in range(n):
        uid, policy = f"ds-{run}-{i}", POLICIES[i % 2]
        seller = f"U-{run}-{rng.randrange(60)}"  # sellers with several listings
        title = f"item {run} {i}"
        first = policy if rng.random() < 0.7 else NONE
        at = START + timedelta(minutes=80 * i)
        state = "appealable" if rng.random() < 0.06 else "closed"
        facts = SubjectFacts(kind=SubjectKind.LISTING, id=uid, title=title,
                             description=f"listing {i}", category="fashion", price=10.0 + i,
                             # every tenth a copy of the photo before it (another seller)
                             image_hashes=[f"{run}{i - (i % 10 == 9):010x}"], seller_id=seller,
                             created_on=START.date())
        outcome = DecisionOutcome(
            queue="ip", decider="alice", automated=False, label=first,
            actions=[Action.REMOVE] if first != NONE else [Action.NO_ACTION], decided_at=at,
            breached=False, seen=Seen(subject_kind=SubjectKind.LISTING, subject_id=uid,
                                      facts=facts, considered=[policy], pack_version="v1"))
        cw.ledger.record_case(LedgerRecord(
            case_id=f"case-listing-{uid}", case_uid=uid, subject=Subject.parse(f"listing:{uid}"),
            state=state, queue="ip", priority=Priority.P2, policy_ids=[policy], opened_at=at,
            timeline=[], revision=1, outcome=outcome))
        final, provisional = first, state != "closed"
        other = NONE if first != NONE else policy
        draw = rng.random()
        if draw < 0.2:  # a QA check: agreed, or adjudicated one way or the other
            agreed, still_open = rng.random() < 0.7, rng.random() < 0.1
            word = first if agreed or rng.random() < 0.5 else other
            extra.append((f"qa-{uid}", f"qa-{uid}", QaOutcome(
                review_case_uid=uid, checker="quinn", label=first if agreed else other,
                same_actions=agreed, same_policy=agreed, checked_at=at + timedelta(hours=2),
                adjudicator=None if agreed else "sam",
                final_label=None if still_open else word,
                closed_at=None if still_open else at + timedelta(hours=5))))
            final, provisional = (final if still_open else word), provisional or still_open
        elif draw < 0.3 and first != NONE:  # an appeal, after everything else
            overturned = rng.random() < 0.5
            extra.append((f"ap-{uid}", f"ap-{uid}", AppealOutcome(
                review_case_uid=uid, outcome="overturned" if overturned else "upheld",
                label=NONE if overturned else first, decided_at=at + timedelta(days=3))))
            final = NONE if overturned else first
        expected[title] = (final, provisional)
    cw.ledger.put_outcomes(extra)
    return expected


def export(env: dict[str, str], out: Path, *more: str, ok: bool = True):  # noqa: ANN201
    return run_cli(env, "dataset", "export", "--policy", *POLICIES, "--since", "2025-03-01",
                   "--until", "2025-04-01", "--out", str(out), *more, ok=ok)


async def test_an_export_holds_final_labels_once_per_seller_split_and_is_reproducible(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings, api_url: str,
        tmp_path: Path) -> None:
    expected = simulate(dev)
    base = cli_env(dev_env, settings)
    lena, kim = (signed_in(base, api_url, dev.ledger, who) for who in ("lena", "kim"))

    await export(lena, tmp_path / "a", "--seed", "7", "--split", "validation=0.25")
    await export(lena, tmp_path / "b", "--seed", "7", "--split", "validation=0.25")
    for name in ("rows.parquet", "rows.jsonl", "manifest.json", "DATASHEET.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    rows = [DatasetRow.model_validate_json(line)
            for line in (tmp_path / "a" / "rows.jsonl").read_text().splitlines()]
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())

    settled = {t: label for t, (label, provisional) in expected.items() if not provisional}
    assert sorted(r.title for r in rows if r.title) == sorted(settled)  # provisional ones out
    assert all(r.label == settled[r.title] for r in rows if r.title)
    overturned = [r for r in rows if any(s.outcome == "overturned" for s in r.provenance)]
    assert overturned and all(r.label == NONE != r.first_label for r in overturned)
    adjudicated = [r for r in rows if any(s.step is StepKind.ADJUDICATION for s in r.provenance)]
    assert adjudicated and any(r.label != r.first_label for r in adjudicated)
    assert manifest["rows"] == len(rows) == sum(manifest["by_split"].values())
    assert manifest["by_split"] == {s: sum(r.split == s for r in rows)
                                    for s in ("train", "validation")}
    assert sum(sum(c.values()) for c in manifest["by_stratum"].values()) == len(rows)
    assert manifest["left_out"]["provisional"] == len(expected) - len(settled)
    assert 0.15 < manifest["by_split"]["validation"] / len(rows) < 0.35
    splits_of: dict[str, set[str]] = {}
    for r in rows:
        splits_of.setdefault(r.seller or "", set()).add(r.split)
        assert r.seller and not r.seller.startswith("U-")  # pseudonymous
    assert all(len(s) == 1 for s in splits_of.values())  # no seller straddles two splits
    photos: dict[str, set[str]] = {}
    for r in rows:
        for h in r.image_hashes:
            photos.setdefault(h, set()).add(r.split)
    assert all(len(s) == 1 for s in photos.values())  # nor a photo
    assert "kim" not in (tmp_path / "a" / "rows.jsonl").read_text()  # nobody named

    # the console's form gives the same set, zipped (leads and admins only)
    for who in ("lena", "kim"):
        Credentials(dev.ledger).set_password(who, f"{who}-password-2026")
    async with httpx.AsyncClient(base_url=api_url, timeout=120) as http:
        for who, status in (("kim", 403), ("lena", 200)):
            http.cookies.clear()
            form = await http.get("/login")
            await http.post("/login", data={"username": who, "password": f"{who}-password-2026",
                                            "csrf": form.text.split('name="csrf" value="')[1]
                                            .split('"')[0]})
            page = await http.get("/datasets")
            assert page.status_code == status
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        got = await http.post("/datasets", data={
            "csrf": csrf, "policies": list(POLICIES), "since": "2025-03-01",
            "until": "2025-04-01", "seed": "7", "split": "validation=0.25"})
        assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(got.content)) as z:
        assert z.read("rows.jsonl") == (tmp_path / "a" / "rows.jsonl").read_bytes()
        assert sorted(z.namelist()) == ["DATASHEET.md", "manifest.json", "rows.jsonl",
                                        "rows.parquet"]

    other = await cli_json(lena, "dataset", "export", "--policy", *POLICIES, "--since",
                           "2025-03-01", "--until", "2025-04-01", "--out", str(tmp_path / "c"),
                           "--seed", "8", "--size", "100", "--stratify", "policy,label",
                           "--include-provisional")
    assert other["rows"] == 100 and other["content_sha256"] != manifest["content_sha256"]
    assert other["left_out"] == {}

    # evaluate: scores from the final labels with noise; figures as the JSON says
    rng = random.Random(3)
    scores = tmp_path / "scores.jsonl"
    scores.write_text("\n".join(json.dumps({"id": r.id, "score": round(min(1.0, max(
        0.0, (0.7 if r.label == r.policy else 0.3) + rng.uniform(-0.35, 0.35))), 4)})
        for r in rows))
    found = await cli_json(lena, "dataset", "evaluate", str(tmp_path / "a"), "--scores",
                           str(scores), "--at-precision", "0.8")
    assert found["rows"] == len(rows) and {p["policy"] for p in found["policies"]} == set(POLICIES)
    assert (tmp_path / "a" / "evaluation.json").exists()
    assert (tmp_path / "a" / "evaluation-pr.svg").read_text().startswith("<svg")

    # bad input: named, nothing written
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([json.dumps({"id": rows[0].id, "score": 0.5}),
                              json.dumps({"id": "nobody", "score": 0.5}),
                              json.dumps({"id": rows[0].id, "score": 0.4}),
                              json.dumps({"id": rows[1].id, "score": 1.5}), "{oops"]))
    refused = await run_cli(lena, "dataset", "evaluate", str(tmp_path / "b"), "--scores",
                            str(bad), ok=False)
    assert refused.returncode == 2
    for said in ("line 2: unknown id", "line 3: id", "twice", "line 4: score", "line 5: not JSON"):
        assert said in refused.stderr
    assert not (tmp_path / "b" / "evaluation.json").exists()
    for more, said in ((("--size", "100000"), "exist for this query"),
                       (("--split", "validation=0.6,test=0.5"), "must sum below 1")):
        refused = await export(lena, tmp_path / "d", *more, ok=False)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
        assert not (tmp_path / "d").exists()
    refused = await run_cli(lena, "dataset", "export", "--policy", "weapons", "--since",
                            "2025-03-01", "--until", "2025-04-01", "--out",
                            str(tmp_path / "d"), ok=False)
    assert refused.returncode == 2 and "no final labels" in refused.stderr
    refused = await export(kim, tmp_path / "d", ok=False)  # a reviewer exports nothing
    assert refused.returncode == 3 and not (tmp_path / "d").exists()
    refused = await export(lena, tmp_path / "a", ok=False)  # never over a set
    assert refused.returncode == 2 and "not an empty folder" in refused.stderr


async def test_a_classifiers_case_carries_its_detector_and_what_the_reviewer_saw(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings, api_url: str,
        tmp_path: Path) -> None:
    base = cli_env(dev_env, settings)
    scanner, lena = (signed_in(base, api_url, dev.ledger, who, scopes)
                     for who, scopes in (("scanner", ["intake:classifier"]), ("lena", ())))
    refused = await run_cli(scanner, "case", "open", "--subject", "listing:L-0031", "--source",
                            "classifier", "--model", "fakes-net", "--model-version", "3.1",
                            "--score", "1.5", ok=False)
    assert refused.returncode == 2 and "score" in refused.stderr
    ref = await cli_json(scanner, "case", "open", "--subject", "listing:L-0031", "--source",
                         "classifier", "--policy-hint", "counterfeit", "--model", "fakes-net",
                         "--model-version", "3.1", "--score", "0.87")
    other = await dev.open_case("listing:L-0032", "classifier", policy_hint="counterfeit")
    for case_id, policies, actions in ((ref["case_id"], [], ["no_action"]),
                                       (other.case_id, ["counterfeit"], ["remove"])):
        await eventually(lambda c=case_id: dev.show(c), lambda c: c.state == "queued")
        await dev.claim(case_id, "alice")
        await dev.decide(case_id, "alice", policies, actions, "looked at it")
    closed = await eventually(lambda: dev.show(ref["case_id"]), lambda c: c.state == "closed")
    await eventually(lambda: dev.show(other.case_id), lambda c: c.state == "appealable")
    assert closed.facts is not None
    today = datetime.now(UTC).date()
    await run_cli(lena, "dataset", "export", "--policy", "counterfeit", "--since",
                  today.isoformat(), "--until", (today + timedelta(days=1)).isoformat(),
                  "--out", str(tmp_path / "x"), "--include-provisional", "--split", "")
    rows = [DatasetRow.model_validate_json(line) for line in
            (tmp_path / "x" / "rows.jsonl").read_text().splitlines()]
    mine = [r for r in rows if r.detector_model == "fakes-net"]
    assert len(mine) == 1, rows
    row = mine[0]
    assert (row.detector_version, row.detector_score, row.label, row.policy,
            row.provisional) == ("3.1", 0.87, NONE, "counterfeit", False)
    assert any(r.label == "counterfeit" and r.provisional for r in rows)
    assert (row.title, row.price) == (closed.facts.title, closed.facts.price)
    assert row.provenance[0].step is StepKind.DECISION and not row.provenance[0].automated


def test_evaluation_figures_equal_scikit_learns() -> None:
    rng = np.random.default_rng(11)
    rows, scores = [], {}
    for i in range(300):
        policy = ("counterfeit", "weapons")[i % 2]
        positive = rng.random() < 0.4
        rows.append(DatasetRow(
            id=f"r{i}", split="validation", policy=policy, label=policy if positive else NONE,
            first_label=NONE, provisional=False, subject_kind=SubjectKind.LISTING, title=None,
            description=None, category=None, price=None, image_hashes=[], seller=None,
            shop=None, pack_version="v1", decided_at="2025-03-01T00:00:00+00:00",
            detector_model=None, detector_version=None, detector_score=None, provenance=[]))
        scores[f"r{i}"] = float(np.clip(0.6 * positive + rng.random() * 0.6, 0, 1))
    found = evaluate(rows, scores, threshold=0.5)
    for p in found.policies:
        mine = [r for r in rows if r.policy == p.policy]
        y = [int(r.label == p.policy) for r in mine]
        s = [scores[r.id] for r in mine]
        predicted = [int(v >= 0.5) for v in s]
        assert p.precision == pytest.approx(precision_score(y, predicted))
        assert p.recall == pytest.approx(recall_score(y, predicted))
        assert p.f1 == pytest.approx(f1_score(y, predicted))
        assert p.average_precision == pytest.approx(average_precision_score(y, s))
        assert p.brier == pytest.approx(brier_score_loss(y, s))
        assert p.tp + p.fp + p.fn + p.tn == len(mine) == p.rows
        assert sum(b.count for b in p.reliability) == len(mine)


def _labelled(i: int, title: str, photo: str, seller: str, label: str = "counterfeit",
              **more: object) -> Labelled:
    at = START + timedelta(hours=i)
    facts = SubjectFacts(kind=SubjectKind.LISTING, id=f"L-{i}", title=title,
                         description=f"copy {i}", image_hashes=[photo], seller_id=seller,
                         created_on=START.date())
    seen = Seen(subject_kind=SubjectKind.LISTING, subject_id=f"L-{i}", facts=facts,
                considered=["counterfeit"])
    return Labelled.of(seen.model_dump_json(), case_uid=f"u-{i:04d}", state="closed",
                       label=label, automated=False, decided_at=at, **more)


def test_near_duplicates_by_title_stay_together_and_a_stock_photo_joins_nobody() -> None:
    rows = [_labelled(i, "Genuine Rolex Submariner" if i < 50 else f"watch {i}",
                      "5" * 16, f"U-{i}") for i in range(400)]  # one stock photo for all
    export = build(DatasetQuery(policies=["counterfeit"], until=START + timedelta(days=60),
                                split={"validation": 0.2}), rows, frozenset({"closed"}),
                   b"k" * 32, "test")
    m = export.head.manifest
    assert m.links_ignored == 1 and m.by_split["validation"] > 0 and m.by_split["train"] > 0
    rolex = {r.split for r in export.rows() if r.title == "Genuine Rolex Submariner"}
    assert len(rolex) == 1


def test_an_appeal_outranks_a_later_adjudication_and_a_check_of_the_appeal_outranks_both() -> None:
    late = START + timedelta(days=9)
    row = _labelled(1, "bag", "6" * 16, "U-1", checks=[Check(
        label="none", checked_at=late, final_label="counterfeit", adjudicated=True,
        closed_at=late)], appeals=[Verdict(outcome="overturned", label="none",
                                           decided_at=START + timedelta(days=3))])
    assert row.final_label() == "none"  # the appeal's word, though the adjudication came later
    checked = row.model_copy(update={"checks": [*row.checks, Check(
        of_appeal=True, label="counterfeit", checked_at=late, final_label="counterfeit",
        adjudicated=True, closed_at=late + timedelta(hours=1))]})
    assert checked.final_label() == "counterfeit"

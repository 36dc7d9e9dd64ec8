"""Abuse trends on the real servers, through the CLI process: a wave (5 linked sellers, 50
counterfeit listings reported within the hour) over a quiet baseline opens exactly one
escalation naming the cluster's sellers; a scan run again opens none; the Schedule is made and
updated. Four quiet simulated weeks of hourly scans find no spike; the test of rates and the
correction are scipy's and statsmodels'."""

from __future__ import annotations

import os
import random
import signal
import subprocess
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest
from scipy.stats import binomtest
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.trends import TrendActivities
from client.casework import CaseworkClient
from client.credentials import Credentials
from config.settings import Settings
from domain.trend_models import Dimension, Signal, TrendsConfig, Volume
from domain.trends import clusters, findings, spikes
from stack import devserver
from tests.helpers import CONVERTER, eventually, free_port, signed_in
from tests.test_e2e_cli import cli_env, cli_json, run_cli


def quiet_baseline(now: datetime, weeks: int = 4) -> list[tuple[str, str, Signal]]:
    """Two to four counterfeit reports in the same hour of each week before, each about
    another seller."""
    rng, rows = random.Random(1), []
    for w in range(1, weeks + 1):
        for k in range(rng.randint(2, 4)):
            uid = f"base-{w}-{k}"
            rows.append((uid, f"case-listing-{uid}", Signal(
                opened_at=now - timedelta(weeks=w, minutes=rng.uniform(1, 59)), queue="ip",
                policy="counterfeit", category="fashion", seller_id=f"U-B{w}{k}",
                shop_id=f"S-B{w}{k}")))
    return rows


async def test_a_wave_opens_one_escalation_naming_its_cluster_and_a_second_scan_none(
        dev: CaseworkClient, dev_env: WorkflowEnvironment, settings: Settings,
        api_url: str) -> None:
    now = datetime.now(UTC)
    dev.ledger.put_signals(quiet_baseline(now))
    base = cli_env(dev_env, settings)
    lena, kim = (signed_in(base, api_url, dev.ledger, who) for who in ("lena", "kim"))
    quiet = await cli_json(lena, "trends", "scan")
    assert (quiet["spikes"], quiet["opened"]) == ([], [])

    wave = await cli_json(base, "sandbox", "wave", "--sellers", "5", "--listings", "50",
                          "--policy", "counterfeit")
    assert len(wave["sellers"]) == 5

    async def opened() -> int:
        hour = (datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC) + timedelta(minutes=1))
        return len(dev.ledger.windows([hour])[0])

    await eventually(opened, lambda n: n >= 50, timeout=60)
    found = await cli_json(lena, "trends", "scan")
    assert len(found["opened"]) == 1, found
    cluster = [s for s in found["spikes"] if s["dimension"] == Dimension.CLUSTER.value]
    assert [sorted(s["members"]) for s in cluster] == [sorted(wave["sellers"])]
    escalation = await dev.show_escalation(found["opened"][0])
    assert escalation.source.value == "trend"
    assert all(seller in escalation.reason for seller in wave["sellers"])

    again = await cli_json(lena, "trends", "scan")  # the same spike: nothing new
    assert again["opened"] == [] and again["known"] == found["opened"]
    shown = (await run_cli(lena, "trends", "show")).stdout
    assert found["opened"][0] in shown and "no schedule" in shown

    Credentials(dev.ledger).set_password("lena", "lena-password-2026")
    Credentials(dev.ledger).set_password("kim", "kim-password-2026")
    pages = {}
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as http:
        for who in ("lena", "kim"):
            http.cookies.clear()
            form = await http.get("/login")
            csrf = form.text.split('name="csrf" value="')[1].split('"')[0]
            await http.post("/login", data={"username": who, "password": f"{who}-password-2026",
                                            "csrf": csrf})
            pages[who] = await http.get("/trends")
    assert pages["kim"].status_code == 403
    assert pages["lena"].status_code == 200 and found["opened"][0] in pages["lena"].text
    assert "<svg" in pages["lena"].text and "counterfeit (spike found)" in pages["lena"].text
    made = await cli_json(lena, "trends", "schedule")
    assert (made["made"], made["every_minutes"]) == ("created", 60)
    changed = await cli_json(lena, "trends", "schedule", "--every", "2h")
    assert (changed["made"], changed["every_minutes"]) == ("updated", 120)
    assert (await cli_json(lena, "trends", "show"))["schedule"]["every_minutes"] == 120
    await dev.temporal.get_schedule_handle(dev.schedule_id).delete()

    for window, said in (("30s", "shorter than a minute"), ("9d", "longer than the baseline"),
                         ("soon", "not a duration")):
        refused = await run_cli(lena, "trends", "scan", "--window", window, ok=False)
        assert refused.returncode == 2 and said in refused.stderr, refused.stderr
    refused = await run_cli(kim, "trends", "scan", ok=False)  # a reviewer: not theirs
    assert refused.returncode == 3


def test_four_quiet_weeks_of_hourly_scans_find_no_spike() -> None:
    """Steady traffic (Poisson, a rate per policy, queue and shop) scanned every hour for four
    weeks after four of baseline: no spike survives the correction and the minimum count."""
    rng = np.random.default_rng(4)
    cfg = TrendsConfig()
    rates = {(Dimension.POLICY, "counterfeit"): 6.0, (Dimension.POLICY, "price-scam"): 3.0,
             (Dimension.QUEUE, "ip"): 8.0, (Dimension.CATEGORY, "fashion"): 5.0,
             **{(Dimension.SHOP, f"S-{i}"): 0.3 for i in range(40)}}
    hours = 8 * 7 * 24
    counts = {k: rng.poisson(rate, hours) for k, rate in rates.items()}
    found = 0
    for h in range(4 * 7 * 24, hours):
        vols = [Volume(dimension=d, value=v, count=int(c[h]),
                       baseline=[int(c[h - 168 * w]) for w in range(1, 5)])
                for (d, v), c in counts.items()]
        found += len(spikes(vols, cfg))
    assert found == 0


def test_spikes_are_poisson_tests_corrected_together_and_merged_by_their_cases() -> None:
    cfg = TrendsConfig(min_count=5)
    wave = [f"case-{i}" for i in range(30)]
    vols = [Volume(dimension=Dimension.CLUSTER, value="U-1", count=30, baseline=[0, 0, 1, 0],
                   cases=wave, members=["U-1", "U-2"]),
            Volume(dimension=Dimension.POLICY, value="counterfeit", count=34,
                   baseline=[3, 4, 2, 5], cases=[*wave, "a", "b", "c", "d"]),
            Volume(dimension=Dimension.QUEUE, value="general", count=6, baseline=[5, 6, 7, 5])]
    found = spikes(vols, cfg)
    assert [s.key for s in found] == ["cluster:U-1", "policy:counterfeit"]
    assert found[1].p_value == binomtest(34, 48, 1 / 5, alternative="greater").pvalue
    assert found[0].q_value >= found[0].p_value
    merged = findings(found)
    assert len(merged) == 1 and merged[0].lead.key == "cluster:U-1"
    assert [e.key for e in merged[0].evidence] == ["policy:counterfeit"]
    assert clusters([("U-1", "payout:x"), ("U-2", "payout:x"), ("U-3", "contact:y")]) == {
        "U-1": ["U-1", "U-2"]}


async def test_a_scan_cut_short_after_opening_its_escalation_opens_it_once_when_retried(
        dev: CaseworkClient, settings: Settings) -> None:
    """The worker dies between opening the escalation and keeping the spike: the activity's
    retry (same scan time) answers the same escalation, and a later scan knows it."""
    now = datetime.now(UTC)
    dev.ledger.put_signals(quiet_baseline(now))
    dev.ledger.put_signals([(f"w-{i}", f"case-listing-w-{i}", Signal(
        opened_at=now - timedelta(minutes=1 + i), queue="ip", policy="counterfeit",
        seller_id=f"U-K{i % 5}", seller_links=["payout:kill"])) for i in range(40)])
    scans = TrendActivities(dev.temporal, dev.ledger, dev._pack, settings.task_queue,
                            settings.case_prefix)
    real, calls = dev.ledger.put_spike, []

    def dies(*args: object) -> None:
        calls.append(args)
        raise RuntimeError("the worker was killed")

    dev.ledger.put_spike = dies  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="killed"):
        await ActivityEnvironment().run(scans.scan_trends, now, 60)
    dev.ledger.put_spike = real  # type: ignore[method-assign]
    retried = await ActivityEnvironment().run(scans.scan_trends, now, 60)
    assert retried.opened == [calls[0][1]]  # the escalation the cut-short scan opened
    later = await ActivityEnvironment().run(scans.scan_trends, now + timedelta(minutes=5), 60)
    assert later.opened == [] and later.known == retried.opened


async def test_hostile_ids_a_renamed_cluster_a_stock_photo_and_no_history_open_nothing_twice(
        dev: CaseworkClient, settings: Settings) -> None:
    """What the marketplace says is hostile text: a shop id casework would not take and a
    category with a trailing space still get one escalation, and a growing wave a note; a
    seller joining the cluster under a lower id is the same spike; a photo hundreds of sellers
    show joins nobody; a scan over a ledger with no weeks before tests nothing."""
    scans = TrendActivities(dev.temporal, dev.ledger, dev._pack, settings.task_queue,
                            settings.case_prefix)
    now = datetime.now(UTC)
    assert (await ActivityEnvironment().run(scans.scan_trends, now, 60)).baseline_weeks == 0

    def wave(first: int, n: int, seller: str = "U-H{}") -> list[tuple[str, str, Signal]]:
        return [(f"h-{i}", f"case-listing-h-{i}", Signal(
            opened_at=now - timedelta(minutes=1 + i % 50), queue="ip", policy="counterfeit",
            category="fashion \u202e", shop_id="evil shop <b>",
            seller_id=seller.format(i % 5), seller_links=["payout:h"]))
            for i in range(first, first + n)]

    stock = [(f"s-{i}", f"case-listing-s-{i}", Signal(
        opened_at=now - timedelta(weeks=1 + i % 3, minutes=5), queue="general",
        policy="recalled-products", seller_id=f"U-S{i}", seller_links=["image:stock"]))
        for i in range(120)]
    dev.ledger.put_signals([*quiet_baseline(now), *stock, *wave(0, 30)])
    first = await ActivityEnvironment().run(scans.scan_trends, now, 60)
    assert len(first.opened) == 1 and first.failed == []
    assert not any(s.dimension is Dimension.CLUSTER and "U-S0" in s.members
                   for s in first.spikes)
    assert all(len(s.cases) <= 20 for s in first.spikes)
    dev.ledger.put_signals([*wave(30, 30), (  # a linked seller sorting first joins
        "h-late", "case-listing-h-late", Signal(
            opened_at=now - timedelta(minutes=2), queue="ip", policy="counterfeit",
            seller_id="A-NEW", seller_links=["payout:h"]))])
    again = await ActivityEnvironment().run(scans.scan_trends, now + timedelta(minutes=3), 60)
    assert again.opened == [] and again.noted == first.opened and again.failed == []
    esc = await dev.show_escalation(first.opened[0])
    assert "\u202e" not in esc.reason and esc.notes and "grew" in esc.notes[-1].text


async def test_the_schedule_survives_a_restart_of_a_server_on_file(settings: Settings) -> None:
    """`make run`'s server keeps its state in a file: the Schedule made once is there after the
    server stops and starts again (and making it again only updates it)."""
    port, ui = free_port(), free_port()

    def start() -> subprocess.Popen[bytes]:
        server = subprocess.Popen(devserver.command(settings.data_dir / "t.db", port=port,
                                                    ui_port=ui),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        devserver.wait_for_port(port, 60)
        return server

    def stop(server: subprocess.Popen[bytes]) -> None:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    server = start()
    try:
        cw = CaseworkClient(await Client.connect(f"127.0.0.1:{port}",
                                                 data_converter=CONVERTER), settings)
        assert (await cw.schedule_trends(None))["made"] == "created"
    finally:
        stop(server)
    server = start()
    try:
        cw = CaseworkClient(await Client.connect(f"127.0.0.1:{port}",
                                                 data_converter=CONVERTER), settings)
        described = await cw.temporal.get_schedule_handle(cw.schedule_id).describe()
        assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
        assert (await cw.schedule_trends(None))["made"] == "updated"
    finally:
        stop(server)

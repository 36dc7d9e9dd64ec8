"""docs/alerts.yml is a Prometheus rule file whose every expression names a series casework or
the Temporal SDK exports; `promtool check rules` passes where promtool is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import temporalio
import yaml
from prometheus_client import REGISTRY

import config.metrics  # noqa: F401 - casework's series, registered
from config.settings import ROOT

RULES = ROOT / "docs" / "alerts.yml"
BUILTIN = {"up"}  # Prometheus's own, per scrape target
PROMQL = {"sum", "by", "without", "rate", "increase", "histogram_quantile", "absent", "or",
          "and", "unless", "on", "ignoring", "max", "min", "avg", "count", "irate", "delta",
          "group_left", "group_right", "bool", "offset", "topk", "bottomk", "clamp_min",
          "clamp_max", "abs", "time", "vector", "scalar", "label_replace"}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
            "gauge": ("",), "summary": ("", "_sum", "_count")}


def casework_series() -> set[str]:
    """Every sample name casework's own metrics expose."""
    return {family.name + suffix for family in REGISTRY.collect()
            if family.name.startswith("casework_") for suffix in SUFFIXES[family.type]}


def sdk_metric_names() -> set[str]:
    """The Temporal SDK core's metric names, read from its sources the wheel ships."""
    crates = Path(temporalio.__file__).parent / "bridge" / "sdk-core" / "crates"
    text = "\n".join(p.read_text() for p in crates.rglob("metrics.rs") if "tests" not in p.parts)
    return set(re.findall(r'name:\s*"([a-z_]+)"', text)) | set(
        re.findall(r'_NAME:\s*&(?:\'static\s+)?str\s*=\s*"([a-z_]+)"', text))


def is_sdk_series(name: str, sdk: set[str]) -> bool:
    """`temporal_<core name>` as the SDK's core names them for Prometheus here: counters
    with `_total`, durations as histograms in seconds, gauges bare."""
    base = name.removeprefix("temporal_")
    return name.startswith("temporal_") and any(
        base == core + suffix for core in sdk
        for suffix in ("", "_total", "_seconds_bucket", "_seconds_sum", "_seconds_count"))


def series_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (label matchers, ranges, groupings, strings
    and function names left out)."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", bare)
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    words = re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", bare)
    return {w for w in words if w not in PROMQL}


def rules() -> list[dict]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_the_rule_file_is_well_formed() -> None:
    doc = yaml.safe_load(RULES.read_text())
    assert set(doc) == {"groups"}
    names = [g["name"] for g in doc["groups"]]
    assert len(names) == len(set(names))
    alerts = [r["alert"] for r in rules()]
    assert len(alerts) == len(set(alerts)), alerts
    for rule in rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in ("page", "ticket"), rule
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook"], rule
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), expr
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"]), rule


def test_every_expression_names_an_exported_series() -> None:
    ours, sdk = casework_series(), sdk_metric_names()
    assert "casework_cases_decided_total" in ours and "num_pollers" in sdk  # (the readers read)
    unknown = {rule["alert"]: sorted(n for n in series_in(rule["expr"])
                                     if n not in ours | BUILTIN and not is_sdk_series(n, sdk))
               for rule in rules()}
    assert not any(unknown.values()), unknown
    named = set().union(*(series_in(r["expr"]) for r in rules()))
    # what a T&S ops team alerts on: breaches, failing actions, failing tasks and retries, no
    # worker, decision latency, 5xx
    assert {"casework_cases_breached_total", "casework_actions_failed_total",
            "temporal_workflow_task_execution_failed_total",
            "temporal_activity_execution_failed_total", "temporal_num_pollers",
            "casework_decision_latency_seconds_bucket", "casework_http_requests_total"} <= named


def test_the_reader_finds_what_it_should() -> None:
    assert series_in('sum by (le, q) (rate(a_b_bucket{route=~"/api/.*", x="y"}[5m])) / '
                     "sum(rate(c_total[5m])) > 0.02 or absent(d)") == {"a_b_bucket", "c_total", "d"}


@pytest.mark.skipif(shutil.which("promtool") is None,
                    reason="promtool not installed (Debian: apt-get install prometheus)")
def test_promtool_checks_the_rules() -> None:
    proc = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr

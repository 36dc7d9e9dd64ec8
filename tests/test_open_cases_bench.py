"""The open-cases bench at a tiny N: every figure measured, nothing failed, one JSON object."""

from __future__ import annotations

import json
import subprocess
import sys

from config.settings import ROOT


def test_the_open_cases_bench_measures_every_figure_at_a_tiny_n() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "open_cases.py"), "--n", "24",
                           "--sessions", "3", "--rounds", "2", "--think", "0", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["n"] == result["opened"] == 24 and result["open_per_s"] > 0
    assert not [k for k in result if k.endswith("_error")], result
    assert result["claim_next_client_failed"] == result["claim_next_http_failed"] == 0
    assert result["pages_failed"] == 0
    for figure in ("claim_next_client_p99_ms", "claim_next_http_p99_ms", "queue_page_p95_ms",
                   "case_page_p95_ms", "ops_stuck_cli_s", "ops_backlog_cli_s", "worker_rss_mb",
                   "server_rss_mb", "disk_per_case_kb", "restart_to_claim_s"):
        assert result[figure] > 0, figure
    assert set(result["targets_met"]) == {
        "claim_next_client_p99_ms<=100", "console_p95_ms<=200", "ops_stuck_cli_s<=3",
        "worker_rss_vs_baseline<=1.2"}
    assert "open_cases" in proc.stderr  # progress on stderr, the JSON alone on stdout

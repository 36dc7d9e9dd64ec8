"""Runtime settings from the environment, with embedded defaults under the project's data folder.

Temporal's own connection settings (address, namespace, TLS, API key, profiles) are not here:
they come from Temporal's environment configuration (`temporalio.envconfig`); without an address
there, casework connects to `localhost:$CASEWORK_TEMPORAL_PORT`, the dev server `make run` starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from domain.errors import InvalidInput

ROOT = Path(__file__).resolve().parents[1]
TASK_QUEUE = "casework"
MAX_CALL_S = 15  # a call to a dependency must end before an activity's heartbeat timeout


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _int(name: str, default: int) -> int:
    """A whole number from the environment, or a one-line refusal naming the variable."""
    value = _env(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{name}={value!r} is not a whole number") from None


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=lambda: Path(_env("CASEWORK_DATA_DIR",
                                                             str(ROOT / "data"))))
    policy_pack: Path = field(default_factory=lambda: Path(_env(
        "CASEWORK_POLICY_PACK", str(ROOT / "policies" / "pack.toml"))))
    ledger_url: str = ""
    marketplace: str = field(default_factory=lambda: _env("CASEWORK_MARKETPLACE", "sandbox"))
    marketplace_url: str = field(default_factory=lambda: _env("CASEWORK_MARKETPLACE_URL", ""))
    marketplace_token: str = field(default_factory=lambda: _env("CASEWORK_MARKETPLACE_TOKEN", ""))
    # Per HTTP call; the enforcement activity's heartbeat timeout (15 s) must stay above it.
    marketplace_timeout_s: float = field(default_factory=lambda: float(_env(
        "CASEWORK_MARKETPLACE_TIMEOUT_S", "10")))
    sandbox_apply_delay_s: float = field(default_factory=lambda: float(_env(
        "CASEWORK_SANDBOX_APPLY_DELAY_S", "0")))
    # How long a sandbox drill in `timeout` mode hangs before failing.
    sandbox_fault_hang_s: float = field(default_factory=lambda: float(_env(
        "CASEWORK_SANDBOX_FAULT_HANG_S", "2")))
    webhook_url: str = field(default_factory=lambda: _env("CASEWORK_WEBHOOK_URL", ""))
    webhook_secret: str = field(default_factory=lambda: _env("CASEWORK_WEBHOOK_SECRET", ""))
    task_queue: str = field(default_factory=lambda: _env("CASEWORK_TASK_QUEUE", TASK_QUEUE))
    # Case ids are `<prefix>-<kind>-<id>`: one prefix per marketplace sharing a namespace.
    case_prefix: str = field(default_factory=lambda: _env("CASEWORK_CASE_PREFIX", "case"))
    # Payload encryption keys: JSON `{"active": kid, "keys": {kid: base64 key}}`, given inline
    # (CASEWORK_CODEC_KEYS, wins) or as a file (default `<data_dir>/codec-keys.json`).
    codec_keys: str = field(repr=False, default_factory=lambda: _env("CASEWORK_CODEC_KEYS", ""))
    codec_keys_file: str = ""
    # The codec endpoint the Temporal UI decrypts through; comma-separated allowed origins.
    codec_host: str = field(default_factory=lambda: _env("CASEWORK_CODEC_HOST", "127.0.0.1"))
    codec_port: int = field(default_factory=lambda: _int("CASEWORK_CODEC_PORT", 8234))
    codec_origins: str = ""
    codec_token: str = field(repr=False,
                             default_factory=lambda: _env("CASEWORK_CODEC_TOKEN", ""))
    # `make run`: the embedded dev server's ports (the Temporal port is also where every casework
    # process connects when Temporal's envconfig names no address), and whether a first start
    # opens demo cases.
    temporal_port: int = field(default_factory=lambda: _int("CASEWORK_TEMPORAL_PORT", 7233))
    ui_port: int = field(default_factory=lambda: _int("CASEWORK_UI_PORT", 8233))
    # The HTTP API and the console (`make run`, `casework api`).
    api_host: str = field(default_factory=lambda: _env("CASEWORK_API_HOST", "127.0.0.1"))
    api_port: int = field(default_factory=lambda: _int("CASEWORK_API_PORT", 8080))
    # Where a worker (and `make run`) serves Prometheus metrics: host:port, `off`, or port 0
    # for a free one (the API serves its own at /metrics); see config/telemetry.py.
    metrics_address: str = field(default_factory=lambda: _env("CASEWORK_METRICS_ADDRESS",
                                                              "127.0.0.1:9464"))
    demo_cases: bool = field(default_factory=lambda: _env("CASEWORK_DEMO_CASES", "1") != "0")

    def __post_init__(self) -> None:
        if not self.ledger_url:
            url = _env("CASEWORK_LEDGER_URL", f"sqlite:///{self.data_dir / 'ledger.db'}")
            object.__setattr__(self, "ledger_url", url)
        if not self.codec_keys_file:
            path = _env("CASEWORK_CODEC_KEYS_FILE", str(self.data_dir / "codec-keys.json"))
            object.__setattr__(self, "codec_keys_file", path)
        if not self.codec_origins:  # the embedded UI's origin, however it is typed
            origins = _env("CASEWORK_CODEC_ORIGINS", f"http://localhost:{self.ui_port},"
                                                     f"http://127.0.0.1:{self.ui_port}")
            object.__setattr__(self, "codec_origins", origins)

    def check_worker(self) -> None:
        """Refuse settings a worker must not run with."""
        if self.webhook_url and not self.webhook_secret:
            raise InvalidInput("CASEWORK_WEBHOOK_URL is set but CASEWORK_WEBHOOK_SECRET is empty: "
                               "refusing to send unsigned webhooks")
        if self.webhook_url and urlsplit(self.webhook_url).scheme != "https" and (
                urlsplit(self.webhook_url).hostname not in ("localhost", "127.0.0.1", "::1")):
            raise InvalidInput("CASEWORK_WEBHOOK_URL must be https:// (plain http only to this "
                               "machine): notices carry personal data")
        if not 0 < self.marketplace_timeout_s < MAX_CALL_S:
            raise InvalidInput(f"CASEWORK_MARKETPLACE_TIMEOUT_S must be above 0 and below "
                               f"{MAX_CALL_S} s (the enforcement's heartbeat timeout)")

    @property
    def sandbox_db(self) -> Path:
        return self.data_dir / "sandbox.db"

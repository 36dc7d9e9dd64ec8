"""Connecting to Temporal the way every casework process does."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile

from config.codec import Keyring, data_converter
from config.settings import Settings
from domain.errors import Unavailable


def default_address(settings: Settings | None = None) -> str:
    """Where casework finds Temporal when neither `--address`, TEMPORAL_ADDRESS nor a profile
    says: the dev server `make run` starts, `localhost:$CASEWORK_TEMPORAL_PORT` (7233)."""
    return f"localhost:{(settings or Settings()).temporal_port}"


async def connect(profile: str | None = None, address: str | None = None,
                  settings: Settings | None = None) -> Client:
    """Connect using Temporal's environment configuration (TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS, TEMPORAL_PROFILE / config file profiles), with
    payloads encrypted under the configured keys (missing keys fail here, before connecting)
    and OpenTelemetry's `TracingInterceptor` (workers built on the client carry it too; it
    records nothing unless tracing is on: `config.telemetry`). Without an address from any of
    these: `default_address` (the port `make run` uses)."""
    from temporalio.contrib.opentelemetry import TracingInterceptor

    settings = settings or Settings()
    converter = data_converter(Keyring.configured(settings))
    config = ClientConfigProfile.load(profile=profile).to_client_connect_config()
    if address:
        config["target_host"] = address
    config.setdefault("target_host", default_address(settings))
    try:
        return await Client.connect(**config, data_converter=converter,
                                    interceptors=[TracingInterceptor()])
    except RuntimeError as e:
        raise Unavailable(f"cannot reach Temporal at {config['target_host']}: "
                          f"{str(e).splitlines()[0]}") from None

"""Connecting to Temporal the way every casework process does."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile

from config.codec import Keyring, data_converter
from config.settings import Settings
from domain.errors import Unavailable

DEFAULT_ADDRESS = "localhost:7233"


async def connect(profile: str | None = None, address: str | None = None,
                  settings: Settings | None = None) -> Client:
    """Connect using Temporal's environment configuration (TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS, TEMPORAL_PROFILE / config file profiles), with
    payloads encrypted under the configured keys (missing keys fail here, before connecting)."""
    converter = data_converter(Keyring.configured(settings or Settings()))
    config = ClientConfigProfile.load(profile=profile).to_client_connect_config()
    if address:
        config["target_host"] = address
    config.setdefault("target_host", DEFAULT_ADDRESS)
    try:
        return await Client.connect(**config, data_converter=converter)
    except RuntimeError as e:
        raise Unavailable(f"cannot reach Temporal at {config['target_host']}: "
                          f"{str(e).splitlines()[0]}") from None

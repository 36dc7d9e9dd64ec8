"""The marketplace the settings name: the worker acts on it, the console shows its photos."""

from __future__ import annotations

from config.settings import Settings
from marketplace.base import Marketplace
from marketplace.http import HttpMarketplace
from marketplace.sandbox import SandboxMarketplace


def build_marketplace(settings: Settings) -> Marketplace:
    if settings.marketplace == "http":
        return HttpMarketplace(settings.marketplace_url, settings.marketplace_token or None,
                               settings.marketplace_timeout_s)
    return SandboxMarketplace(settings.sandbox_db, settings.sandbox_apply_delay_s,
                              settings.sandbox_fault_hang_s)

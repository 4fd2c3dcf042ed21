"""Image generation as a Dagster resource: the provider router, built once per process."""

from __future__ import annotations

import os
import threading

import dagster as dg

from ..providers.router import ImageRouter, build_router
from ..providers.settings import ProviderSettings

_routers: dict[tuple[tuple[str, str], ...], ImageRouter] = {}
_routers_lock = threading.Lock()


class ImageGenerationResource(dg.ConfigurableResource):
    """Routes image requests to the enabled providers (see README "Image providers").

    Settings come from the environment (BULKGEN_PROVIDERS, REPLICATE_API_TOKEN, GOOGLE_API_KEY…),
    so secrets never enter run config. Tests subclass this and override `get_router`.
    """

    providers: str | None = None  # overrides BULKGEN_PROVIDERS, e.g. "local"

    def get_router(self) -> ImageRouter:
        env = dict(os.environ)
        if self.providers:
            env["BULKGEN_PROVIDERS"] = self.providers
        # One router per configuration per process: its limits must be shared by every run here.
        key = tuple(
            sorted(
                (k, v)
                for k, v in env.items()
                if k.startswith(("BULKGEN_", "REPLICATE_", "GOOGLE_"))
            )
        )
        with _routers_lock:
            if key not in _routers:
                _routers[key] = build_router(ProviderSettings.from_env(env))
            return _routers[key]

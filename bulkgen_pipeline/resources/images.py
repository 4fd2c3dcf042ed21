"""Image generation as a Dagster resource: the provider router, built once per process."""

from __future__ import annotations

import os

import dagster as dg

from ..inspection.similarity import DEFAULT_THRESHOLD
from ..providers.router import ImageRouter, shared_router
from ..providers.test_mode import PreviewOnlyRenderer, preview_only_renderer


class ImageGenerationResource(dg.ConfigurableResource):
    """Routes image requests to the enabled providers (see README "Image providers").

    Settings come from the environment (BULKGEN_PROVIDERS, REPLICATE_API_TOKEN, GOOGLE_API_KEY…),
    so secrets never enter run config. Which variables count is the provider registry's business
    (providers/settings.py `PROVIDERS`), not this resource's. Tests subclass this and override
    `get_router`.
    """

    providers: str | None = None  # overrides BULKGEN_PROVIDERS, e.g. "local"
    # Images whose perceptual hashes differ in at most this many bits are near-duplicates
    # (BULKGEN_NEAR_DUPLICATE_BITS; README "Near-duplicate images").
    near_duplicate_bits: int = DEFAULT_THRESHOLD

    def get_router(self) -> ImageRouter:
        env = dict(os.environ)
        if self.providers:
            env["BULKGEN_PROVIDERS"] = self.providers
        # One router per configuration per process: its limits must be shared by every run here,
        # and a start request's preflight (runs/preflight.py) gets this same one.
        return shared_router(env)

    def get_test_router(self) -> PreviewOnlyRenderer:
        """A test-mode run's renderer: the preview one, whatever providers are enabled (and
        whatever `get_router` a test swaps in)."""
        return preview_only_renderer(dict(os.environ))

"""What renders a test-mode run (a test-mode key's): the offline preview renderer, whatever
providers the deployment enables, so that a merchant can integrate without spending credits
and without a provider being called."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from .base import ImageRequest, ImageResult
from .preview import LocalPreviewProvider
from .router import ImageRouter, shared_router


class PreviewOnlyRenderer:
    """Makes every image on the preview renderer: a request's model (perhaps a paid
    provider's) is dropped; its prompt, seed, size and colour are kept."""

    def __init__(self, router: ImageRouter) -> None:
        self._router = router

    @property
    def max_parallel(self) -> int:
        return self._router.max_parallel

    def generate(self, request: ImageRequest) -> ImageResult:
        return self._router.generate(replace(request, model=None))


def preview_only_renderer(env: Mapping[str, str]) -> PreviewOnlyRenderer:
    """The renderer of test-mode runs, sharing the process's router of the preview provider
    (its settings, e.g. BULKGEN_LOCAL_CONCURRENCY, still come from `env`)."""
    return PreviewOnlyRenderer(
        shared_router({**env, "BULKGEN_PROVIDERS": LocalPreviewProvider.name})
    )

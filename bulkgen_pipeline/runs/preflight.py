"""Before credits are reserved: can this deployment execute the request at all?

Everything a run would fail on before making its first image (a malformed setting, a provider
that cannot be built, no enabled provider able to honour the request's size) is checked here,
so that such a failure refuses the request instead of stranding a job with its reservation.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..providers.base import ImageRequest

if TYPE_CHECKING:
    from ..domain.requests import BulkRequest
    from ..providers.router import ImageRouter


class CannotExecute(RuntimeError):
    """The deployment cannot run this request now; nothing was queued or reserved."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def dimensions_of(request: BulkRequest) -> dict[str, object]:
    if request.preset is not None:
        return request.preset.config.dimensions.as_dict()
    assert request.batch is not None
    return request.batch.shared_settings.dimensions.as_dict()


def process_router() -> ImageRouter:
    """The router this process's runs use (the one the Dagster images resource gets: one per
    provider configuration per process), so a start request builds no SDK client of its own.
    Raises CannotExecute when the provider settings are malformed."""
    from ..providers.router import shared_router

    try:
        return shared_router(os.environ)
    except ValueError as exc:  # settings errors name the variable and never hold its secret
        raise CannotExecute(f"provider settings: {exc}") from None


def check_can_execute(request: BulkRequest, router: ImageRouter | None = None) -> None:
    """Raise CannotExecute naming the size no provider enabled in `router` can make (default:
    the process's router, or the provider setting that keeps it from being built). The
    deployment's own Settings were checked where they were made (create_app, the CLI)."""
    if router is None:
        router = process_router()
    dimensions = dimensions_of(request)
    probe = ImageRequest(
        prompt="preflight",
        seed=0,
        width=dimensions.get("width"),  # type: ignore[arg-type]
        height=dimensions.get("height"),  # type: ignore[arg-type]
        aspect_ratio=dimensions.get("aspect_ratio"),  # type: ignore[arg-type]
    )
    names = router.provider_names
    if not any(router.lane(name).provider.supports(probe) for name in names):
        size = (
            f"aspect ratio {probe.aspect_ratio}"
            if probe.aspect_ratio
            else f"{probe.width}x{probe.height} pixels"
        )
        raise CannotExecute(
            f"no enabled provider ({', '.join(names)}) can make images of {size}; "
            "change the dimensions or enable another provider (BULKGEN_PROVIDERS)"
        )

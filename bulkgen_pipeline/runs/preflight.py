"""Before credits are reserved: can this deployment execute the request at all?

Everything a run would fail on before making its first image (a malformed setting, a provider
that cannot be built, no enabled provider able to honour the request's size) is checked here,
so that such a failure refuses the request instead of stranding a job with its reservation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..config import Settings, SettingsError
from ..providers.base import ImageRequest

if TYPE_CHECKING:
    from ..domain.requests import BulkRequest


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


def check_can_execute(request: BulkRequest, env: Mapping[str, str] | None = None) -> None:
    """Raise CannotExecute naming the setting or the size no enabled provider can make."""
    from ..providers.router import shared_router

    try:
        Settings.from_env(env)
    except SettingsError as exc:
        raise CannotExecute(str(exc)) from None
    try:
        router = shared_router(os.environ if env is None else env)
    except ValueError as exc:  # settings errors name the variable and never hold its secret
        raise CannotExecute(f"provider settings: {exc}") from None
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

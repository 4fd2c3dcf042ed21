"""Before credits are reserved: can this deployment execute the request at all?

Everything a run would fail on before making its first image (a malformed setting, a provider
that cannot be built, no enabled provider able to honour the request's size) is checked here,
so that such a failure refuses the request instead of stranding a job with its reservation.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..providers.base import ImageRequest

if TYPE_CHECKING:
    from ..domain.presets import ModelChoice
    from ..domain.requests import BulkRequest
    from ..providers.router import ImageRouter


class CannotExecute(RuntimeError):
    """The deployment cannot run this request now; nothing was queued or reserved. `field` is
    the request's field to change ("preset" when no single one is to blame)."""

    def __init__(self, reason: str, field: str = "preset"):
        super().__init__(reason)
        self.reason = reason
        self.field = field


def model_choice_of(request: BulkRequest) -> tuple[str, ModelChoice]:
    """(the field path its settings are under, the model choice) of a preset or batch."""
    if request.preset is not None:
        return "config", request.preset.config
    assert request.batch is not None
    return "shared_settings", request.batch.shared_settings


def check_model_choice(request: BulkRequest, router: ImageRouter) -> None:
    """The chosen model is in this deployment's catalogue and takes the size and parameters
    asked for; each refusal names the field to change."""
    where, choice = model_choice_of(request)
    if choice.model is None:
        for name in ("steps", "guidance_scale"):
            if getattr(choice, name) is not None:
                raise CannotExecute(
                    f"{name} needs a model that takes it: choose one with {where}.model "
                    "(GET /api/models lists them)",
                    field=f"{where}.{name}",
                )
        return
    catalogue = router.catalogue
    spec = catalogue.get(choice.model)
    if spec is None:
        raise CannotExecute(
            f"model {choice.model!r} is not offered by this deployment's providers "
            f"(choose from: {', '.join(catalogue.ids)})",
            field=f"{where}.model",
        )
    for field, size in _sizes_by_field(request, where):
        size_problem = spec.size_problem(size)
        if size_problem is not None:
            raise CannotExecute(size_problem, field=field)
    for name, problem in spec.parameter_problems(choice.steps, choice.guidance_scale).items():
        raise CannotExecute(f"{name} {problem}", field=f"{where}.{name}")


def process_router() -> ImageRouter:
    """The router this process's runs use (the one the Dagster images resource gets: one per
    provider configuration per process), so a start request builds no SDK client of its own.
    Raises CannotExecute when the provider settings are malformed."""
    from ..providers.router import shared_router

    try:
        return shared_router(os.environ)
    except ValueError as exc:  # settings errors name the variable and never hold its secret
        raise CannotExecute(f"provider settings: {exc}") from None


def credits_per_image(request: BulkRequest, router: ImageRouter | None = None) -> int:
    """What one image of this request costs: its chosen model's price, 1 when bulkgen chooses
    (the catalogue was checked by `check_can_execute`)."""
    model = model_choice_of(request)[1].model
    if model is None:
        return 1
    spec = (router or process_router()).catalogue.get(model)
    return spec.credits_per_image if spec is not None else 1


def check_can_execute(request: BulkRequest, router: ImageRouter | None = None) -> None:
    """Raise CannotExecute naming the size no provider enabled in `router` can make (default:
    the process's router, or the provider setting that keeps it from being built). The
    deployment's own Settings were checked where they were made (create_app, the CLI)."""
    if router is None:
        router = process_router()
    check_model_choice(request, router)
    where, choice = model_choice_of(request)
    names = router.provider_names
    for field, dimensions in _sizes_by_field(request, where):
        probe = ImageRequest(
            prompt="preflight",
            seed=0,
            width=dimensions.get("width"),
            height=dimensions.get("height"),
            aspect_ratio=dimensions.get("aspect_ratio"),
            model=choice.model,
        )
        if not any(router.lane(name).provider.supports(probe) for name in names):
            size = (
                f"aspect ratio {probe.aspect_ratio}"
                if probe.aspect_ratio
                else f"{probe.width}x{probe.height} pixels"
            )
            raise CannotExecute(
                f"no enabled provider ({', '.join(names)}) can make images of {size}; "
                "change the dimensions or enable another provider (BULKGEN_PROVIDERS)",
                field=field,
            )


def _sizes_by_field(request: BulkRequest, where: str) -> list[tuple[str, dict[str, Any]]]:
    """Each size asked for, with the field that names it (`config.dimensions`, or
    `config.dimensions.2` in a list)."""
    sizes = request.sizes
    if not isinstance(request.settings.dimensions, list):
        return [(f"{where}.dimensions", sizes[0])]
    return [(f"{where}.dimensions.{i}", size) for i, size in enumerate(sizes)]

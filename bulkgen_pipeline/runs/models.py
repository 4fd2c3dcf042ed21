"""The image models a merchant may choose from: the catalogue of this deployment's enabled
providers (GET /api/models, `bulkgen models`, the console's model choice)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .preflight import process_router

if TYPE_CHECKING:
    from ..providers.router import ImageRouter


def model_catalogue(router: ImageRouter | None = None) -> list[dict[str, Any]]:
    """Every model on offer, in the order the router tries their providers (default: this
    process's router, the one runs and start requests use)."""
    return (router or process_router()).catalogue.as_json()

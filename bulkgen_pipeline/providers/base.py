"""The contract every image provider keeps, and the errors the router reasons about.

No Dagster, FastAPI or SQL here: the pipeline, the CLI and the tests all drive providers
through this interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .models import ModelSpec


@dataclass(frozen=True)
class ImageRequest:
    """One image to make. Exactly one of (width, height) or aspect_ratio is set."""

    prompt: str
    seed: int
    width: int | None = None
    height: int | None = None
    aspect_ratio: str | None = None
    negative_prompt: str | None = None
    # Short labels the preview renderer draws on the image (e.g. {"type": "tote bag"}).
    key_attributes: dict[str, str] = field(default_factory=dict)
    # The merchant's choice of model (an id of the catalogue) and its parameters; None: the
    # router chooses the provider and the provider its model for the size, as by default.
    model: str | None = None
    steps: int | None = None
    guidance_scale: float | None = None
    # The colour the generation asked for ("#RRGGBB"), already in the prompt in words: the
    # preview renderer paints it, so colour adherence can be checked offline.
    color: str | None = None

    @property
    def wants_exact_size(self) -> bool:
        return self.width is not None and self.height is not None


@dataclass(frozen=True)
class ImageResult:
    image_bytes: bytes
    provider: str
    model: str
    seed: int
    latency_seconds: float
    attempts: int = 1
    mime_type: str = "image/png"


class ProviderError(Exception):
    """Base of provider failures. `reason` is safe to show to users (never holds a secret)."""

    def __init__(self, reason: str, *, provider: str = "", retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.provider = provider
        self.retry_after = retry_after


class TransientProviderError(ProviderError):
    """Worth retrying: 429, 5xx, timeouts, dropped connections."""


class PermanentProviderError(ProviderError):
    """Retrying cannot help: bad input, safety block, a response without an image."""


class FailureKind(StrEnum):
    """Whether trying the same image again later may succeed."""

    # A provider was out, busy, resting or too slow: a later pass may well make the image.
    TRANSIENT = "transient"
    # Every capable provider refused the request itself (bad input, safety block), or none can
    # make it: trying again would get the same answer.
    PERMANENT = "permanent"


class GenerationFailed(Exception):
    """Every capable provider was tried and none produced the image."""

    def __init__(
        self,
        reason: str,
        *,
        attempts: int,
        providers_tried: list[str],
        kind: FailureKind = FailureKind.PERMANENT,
    ):
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
        self.providers_tried = providers_tried
        self.kind = kind

    @property
    def transient(self) -> bool:
        return self.kind is FailureKind.TRANSIENT


@runtime_checkable
class ImageProvider(Protocol):
    name: str

    def supports(self, request: ImageRequest) -> bool:
        """Whether this provider can honour the request: its size (exact pixels or aspect
        ratio) and, when the request names one, its model."""

    def models(self) -> tuple[ModelSpec, ...]:
        """The models this provider serves, as the catalogue shows them."""

    def generate(self, request: ImageRequest) -> ImageResult:
        """One attempt. Raises TransientProviderError or PermanentProviderError on failure."""

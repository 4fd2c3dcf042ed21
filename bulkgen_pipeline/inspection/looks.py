"""One look at a stored image: decoded once, reduced once, then hashed and (when its
generation asked for a colour) measured for that colour."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from .colour import ColourMeasure, measure_colour
from .similarity import perceptual_hash

LOOK_SIDE = 64  # the hash reads 32x32 and the colours need no more than this


@dataclass(frozen=True)
class Looks:
    perceptual_hash: str
    colour: ColourMeasure | None  # None: the generation asked for no colour

    def to_dict(self) -> dict[str, object]:
        looks: dict[str, object] = {"perceptual_hash": self.perceptual_hash}
        if self.colour is not None:
            looks["colour"] = self.colour.to_dict()
        return looks


def look_at(image_bytes: bytes, requested_colour: str | None = None) -> Looks:
    """Raises PIL's errors for bytes that are no image (the caller's size check reports it)."""
    with Image.open(io.BytesIO(image_bytes)) as image:
        image.draft("RGB", (LOOK_SIDE * 2, LOOK_SIDE * 2))  # JPEG decodes at a fraction
        factor = max(1, min(image.size) // LOOK_SIDE)
        small = image.convert("RGB").reduce(factor)
    colour = measure_colour(small, requested_colour) if requested_colour else None
    return Looks(perceptual_hash(small), colour)

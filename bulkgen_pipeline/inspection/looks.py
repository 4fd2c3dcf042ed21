"""One look at a stored image: decoded once, reduced once, then hashed and (when its
generation asked for a colour) measured for that colour."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

from .colour import ColourMeasure, measure_colour
from .similarity import perceptual_hash

# The hash reads 32x32 and the colours need no more than this; the contact sheet's thumbnails
# (96 px) are made from the same decoded picture.
LOOK_SIDE = 96


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
    return look_at_image(reduced(image_bytes, LOOK_SIDE), requested_colour)


def reduced(image_bytes: bytes, side: int) -> Image.Image:
    """The picture decoded once and reduced to about `side` pixels on its short side (by a
    whole factor, box-filtered: cheap and stable across sizes)."""
    with Image.open(io.BytesIO(image_bytes)) as image:
        image.draft("RGB", (side * 2, side * 2))  # JPEG decodes at a fraction
        factor = max(1, min(image.size) // side)
        return image.convert("RGB").reduce(factor)


def look_at_image(small: Image.Image, requested_colour: str | None = None) -> Looks:
    """`small`: the picture as `reduced` gives it (LOOK_SIDE)."""
    colour = measure_colour(small, requested_colour) if requested_colour else None
    return Looks(perceptual_hash(small), colour)

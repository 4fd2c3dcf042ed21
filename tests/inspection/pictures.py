"""Pictures made for the purpose: distinct scenes, and the transformations that leave a picture
the same one (resized, re-encoded, lightly noised, blurred)."""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def scene(
    seed: int, size: int = 512, product: str | None = None, plain: bool = False
) -> Image.Image:
    """A picture of its own per seed: a lit backdrop, a few objects, texture; `product` paints
    the largest object (a bag-like block) in that colour. `plain`: a grey studio backdrop and
    nothing but the product, as a product photo is."""
    rng = random.Random(seed)
    grey = rng.randrange(150, 240)
    base = np.array([grey] * 3 if plain else [rng.randrange(256) for _ in range(3)], dtype=float)
    ramp = np.linspace(0.55, 1.15, size)[:, None, None] * (
        np.linspace(0.8, 1.1, size)[None, :, None] if rng.random() < 0.5 else 1.0
    )
    pixels = np.clip(base * ramp * np.ones((size, size, 3)), 0, 255).astype("uint8")
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    for _ in range(0 if plain else rng.randrange(4, 9)):
        x, y = rng.randrange(size), rng.randrange(size)
        r = rng.randrange(size // 12, size // 3)
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x - r, y - r, x + r, y + r), fill=colour)
    if product:
        rgb = tuple(int(product.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
        left, top = rng.randrange(size // 8), rng.randrange(size // 8)
        box = (left, top, left + size * 3 // 5, top + size * 3 // 5)
        draw.rounded_rectangle(box, size // 20, fill=rgb)
        shade = tuple(int(c * 0.75) for c in rgb)
        draw.rounded_rectangle((box[0], box[3] - size // 8, box[2], box[3]), size // 20, fill=shade)
    noise = np.random.default_rng(seed).normal(0, 6, (size, size, 3))
    return Image.fromarray(np.clip(np.asarray(image) + noise, 0, 255).astype("uint8"))


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def same_picture_variants(image: Image.Image) -> dict[str, bytes]:
    """The picture as a store or a provider might hand it back: still the same picture."""
    width, height = image.size
    noisy = np.asarray(image) + np.random.default_rng(1).normal(0, 10, (height, width, 3))
    return {
        "half size": encoded(image.resize((width // 2, height // 2))),
        "double size": encoded(image.resize((width * 2, height * 2))),
        "JPEG quality 40": encoded(image, "JPEG", quality=40),
        "WebP quality 50": encoded(image, "WEBP", quality=50),
        "noise": encoded(Image.fromarray(np.clip(noisy, 0, 255).astype("uint8"))),
        "slight blur": encoded(image.filter(ImageFilter.GaussianBlur(1.5))),
    }

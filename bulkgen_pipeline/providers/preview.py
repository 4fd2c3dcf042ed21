"""Local preview renderer: the default provider when no credentials are set.

It makes a clearly-labelled placeholder image with Pillow, so a newcomer can run the whole
pipeline offline. Same request -> byte-identical PNG, so tests and re-runs are stable.
"""

from __future__ import annotations

import hashlib
import io
import random
import time
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

from ..domain.sizes import ASPECT_RATIOS
from .base import ImageRequest, ImageResult, PermanentProviderError
from .common import size_for_aspect_ratio
from .models import ExactSizes, ModelSpec, ParameterRange

MAX_SIDE = 4096  # beyond this a placeholder is pointless and the memory is not
PREVIEW_LONG_SIDE = 1024


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    # Pillow's bundled font: no system font lookup, so output is the same on every machine.
    return ImageFont.load_default(size=max(1, size))


class LocalPreviewProvider:
    """Renders `PREVIEW` + the key attributes on a seeded gradient. Supports every valid size."""

    name = "local"
    model = "local-preview-v1"

    def __init__(self, long_side: int = PREVIEW_LONG_SIDE, seconds_per_image: float = 0.0) -> None:
        """`seconds_per_image`: how long each image takes in all, rendering included (a
        stand-in for a provider's latency, for benchmarks and demonstrations)."""
        self.long_side = long_side
        self.seconds_per_image = seconds_per_image

    def models(self) -> tuple[ModelSpec, ...]:
        return (
            ModelSpec(
                id=self.model,
                provider=self.name,
                description="Offline preview: a labelled placeholder at any size",
                exact_sizes=ExactSizes(1, MAX_SIDE),
                aspect_ratios=ASPECT_RATIOS,
                negative_prompt=True,
                # Taken and drawn on the image, so a run's choices can be checked offline.
                steps=ParameterRange(1, 100, 30, integer=True),
                guidance_scale=ParameterRange(0, 20, 7),
                aspect_long_side=self.long_side,
            ),
        )

    def supports(self, request: ImageRequest) -> bool:
        if request.model is not None and request.model != self.model:
            return False
        try:
            width, height = self._size(request)
        except ValueError:
            return False
        return 0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE

    def generate(self, request: ImageRequest) -> ImageResult:
        started = time.perf_counter()
        try:
            width, height = self._size(request)
        except ValueError as exc:
            raise PermanentProviderError(str(exc), provider=self.name) from None
        if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
            raise PermanentProviderError(
                f"preview size {width}x{height} is outside 1..{MAX_SIDE}", provider=self.name
            )
        data = render_preview(request, width, height)
        if self.seconds_per_image:
            # Rendering is part of the time an image takes, as a provider's latency includes
            # its own rendering: under 8 images at once, renders that wait for the interpreter
            # lock made a "1 s" preview take 1.3 s.
            time.sleep(max(0.0, self.seconds_per_image - (time.perf_counter() - started)))
        return ImageResult(
            image_bytes=data,
            provider=self.name,
            model=self.model,
            seed=request.seed,
            latency_seconds=time.perf_counter() - started,
            attempts=1,
            mime_type="image/png",
        )

    def _size(self, request: ImageRequest) -> tuple[int, int]:
        if request.wants_exact_size:
            return int(request.width or 0), int(request.height or 0)
        if request.aspect_ratio:
            return size_for_aspect_ratio(request.aspect_ratio, self.long_side)
        raise ValueError("request has neither width/height nor aspect_ratio")


def _hex(colour: str) -> tuple[int, int, int]:
    digits = colour.lstrip("#")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def render_preview(request: ImageRequest, width: int, height: int) -> bytes:
    """Draw the placeholder: a seeded grey backdrop, a "product" in the generation's colour
    (a seeded one when it asked for none) and the key attributes. Everything random comes from
    (seed, prompt), nothing else."""
    digest = hashlib.sha256(f"{request.seed}\x00{request.prompt}".encode()).digest()
    rng = random.Random(digest)
    grey = rng.randrange(70, 200)
    top = (grey, grey, min(255, grey + rng.randrange(0, 24)))
    bottom = tuple(max(0, c - 60) for c in top)

    # A 256-step gradient stretched to size and coloured through a LUT: far cheaper than
    # drawing a line per row on large images. Its direction is seeded too.
    gradient = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270)))
    gradient = gradient.resize((width, height), Image.Resampling.BILINEAR)
    image = ImageOps.colorize(gradient, black=top, white=bottom).convert("RGB")
    draw = ImageDraw.Draw(image)

    unit = max(1, min(width, height))
    # A few seeded props, light and dark, so that two previews never look alike (the
    # near-duplicate check would rightly say they do). Placed by fractions of the size: one
    # seed draws the same picture at every size, as a run in several sizes asks.
    for _ in range(4):
        cx, cy = rng.random() * width, rng.random() * height
        r = unit * rng.uniform(1 / 8, 1 / 4)
        tone = rng.choice((25, 235))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(tone, tone, tone))

    # The product: a seeded block of the requested colour, on a third or more of the picture,
    # with a darker base so it reads as an object rather than a flat swatch.
    product = _hex(request.color) if request.color else tuple(rng.randrange(30, 226) for _ in "rgb")
    box_w = int(width * rng.uniform(0.4, 0.65))
    box_h = int(height * rng.uniform(0.4, 0.65))
    left = int(rng.random() * (width - box_w))
    upper = int(rng.random() * (height - box_h))
    corner = max(1, min(box_w, box_h) // rng.choice((2, 6, 20)))
    draw.rounded_rectangle((left, upper, left + box_w, upper + box_h), corner, fill=product)
    base = tuple(int(c * 0.8) for c in product)
    draw.rounded_rectangle(
        (left, upper + box_h * 4 // 5, left + box_w, upper + box_h), corner, fill=base
    )

    margin = max(1, unit // 24)
    title = _font(max(8, unit // 6))
    draw.text(
        (width / 2, height / 2),
        "PREVIEW",
        font=title,
        anchor="mm",
        fill=(255, 255, 255),
        stroke_width=max(1, unit // 200),
        stroke_fill=(0, 0, 0),
    )

    body = _font(max(6, unit // 28))
    lines = [f"{key}: {value}" for key, value in sorted(request.key_attributes.items())]
    lines.append(f"seed {request.seed} · {width}x{height}")
    if request.steps is not None or request.guidance_scale is not None:
        lines.append(f"steps {request.steps} · guidance {request.guidance_scale}")
    y = margin
    for line in lines:
        draw.text(
            (margin, y),
            line,
            font=body,
            fill=(255, 255, 255),
            stroke_width=1,
            stroke_fill=(0, 0, 0),
        )
        y += int(body.size * 1.3) if hasattr(body, "size") else 12

    out = io.BytesIO()
    # compress_level=1: a 1024x1024 preview encodes in a few ms instead of ~50 ms; size does
    # not matter for a placeholder.
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()

"""Does every stored image open, at the size the run asked for?"""

from __future__ import annotations

import io

from PIL import Image

from ..domain.layout import RunLayout
from ..domain.specs import GenerationSpec
from ..providers.common import parse_aspect_ratio
from ..storage.base import ObjectStore

ASPECT_TOLERANCE = 0.02  # providers round ratios to their pixel grid


def image_size_problems(
    store: ObjectStore, layout: RunLayout, specs: list[GenerationSpec], generations: list[int]
) -> dict[str, str]:
    """generation -> what is wrong with its stored image; empty when all are right."""
    by_generation = {spec.generation: spec for spec in specs}
    problems = {}
    for generation in generations:
        wanted = by_generation[generation].dimensions
        try:
            with Image.open(io.BytesIO(store.get_bytes(layout.image_key(generation)))) as image:
                image.verify()
                width, height = image.size
        except Exception as exc:
            problems[str(generation)] = f"does not open as an image: {exc}"
            continue
        if "width" in wanted and (width, height) != (wanted["width"], wanted["height"]):
            problems[str(generation)] = (
                f"is {width}x{height}, wanted {wanted['width']}x{wanted['height']}"
            )
        elif "aspect_ratio" in wanted:
            ratio_w, ratio_h = parse_aspect_ratio(wanted["aspect_ratio"])
            if abs(width / height - ratio_w / ratio_h) > ASPECT_TOLERANCE:
                problems[str(generation)] = f"is {width}x{height}, not {wanted['aspect_ratio']}"
    return problems

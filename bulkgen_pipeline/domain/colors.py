"""ColorMapper: one colour per generation out of the user's palette."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence

from .presets import ColorStrategy


class ColorMapper:
    """Hands out one colour per generation.

    cycling: palette order, repeated. random: uniform, independent draws. weighted: draws in
    proportion to `weights`, or, without weights, to how often a colour appears in the palette.
    """

    def __init__(self, strategy: ColorStrategy | str = ColorStrategy.cycling):
        self.strategy = ColorStrategy(strategy)

    def distribute_colors(
        self,
        palette: Sequence[str],
        generation_count: int,
        rng: random.Random | None = None,
        weights: Sequence[float] | None = None,
    ) -> list[str | None]:
        if not palette:
            return [None] * generation_count
        rng = rng or random.Random(0)
        if self.strategy is ColorStrategy.cycling:
            return [palette[i % len(palette)] for i in range(generation_count)]
        if self.strategy is ColorStrategy.random:
            return [rng.choice(palette) for _ in range(generation_count)]
        colours, colour_weights = _weights_for(palette, weights)
        return list(rng.choices(colours, weights=colour_weights, k=generation_count))


def _weights_for(
    palette: Sequence[str], weights: Sequence[float] | None
) -> tuple[list[str], list[float]]:
    if weights is not None:
        return list(palette), list(weights)
    counts = Counter(palette)
    colours = list(dict.fromkeys(palette))
    return colours, [float(counts[c]) for c in colours]

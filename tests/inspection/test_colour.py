"""Colour adherence: CIEDE2000 checked against the published test pairs, and pictures that
show the requested colour (shaded, compressed) told from pictures that do not."""

from __future__ import annotations

import numpy as np
import pytest

from bulkgen_pipeline.inspection import look_at
from bulkgen_pipeline.inspection.colour import ADHERENT_DELTA_E, ciede2000

from .pictures import encoded, scene

# Sharma, Wu & Dalal (2005), table 1: Lab pairs and their CIEDE2000.
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 2.5, 0.0), (50.0, 0.0, -2.5), 4.3065),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((22.7233, 20.0904, -46.694), (23.0331, 14.973, -42.5619), 2.0373),
    ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
]


def test_ciede2000_matches_the_published_pairs():
    first = np.array([a for a, _, _ in SHARMA])
    second = np.array([b for _, b, _ in SHARMA])
    assert ciede2000(first, second) == pytest.approx([e for _, _, e in SHARMA], abs=1e-4)


PALETTE = ["#C00000", "#1A2B3C", "#F0C000", "#2E8B57", "#6A0DAD", "#FF7F50"]


@pytest.mark.parametrize("colour", PALETTE)
def test_a_picture_of_the_colour_shows_it_shaded_and_compressed(colour):
    picture = scene(7, product=colour)
    for data in (encoded(picture), encoded(picture, "JPEG", quality=40)):
        measure = look_at(data, colour).colour
        assert measure is not None and measure.adherent, measure
        assert measure.share >= 0.2  # the product is a large part of the picture


def test_a_product_photo_of_another_colour_does_not_show_the_requested_one():
    for seed in range(3):
        for painted in PALETTE:
            picture = encoded(scene(seed, product=painted, plain=True), "JPEG", quality=60)
            for asked in PALETTE:
                measure = look_at(picture, asked).colour
                assert measure is not None
                assert measure.adherent == (asked == painted), (seed, asked, painted, measure)


def test_no_colour_asked_measures_nothing_and_the_threshold_is_documented():
    assert look_at(encoded(scene(1))).colour is None
    assert 5 <= ADHERENT_DELTA_E <= 20

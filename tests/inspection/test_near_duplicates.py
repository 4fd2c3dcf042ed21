"""Near-duplicate images by perceptual hash, on pictures made for the purpose: the same picture
resized, re-encoded, noised or blurred is flagged; distinct pictures are not."""

from __future__ import annotations

from itertools import combinations

from bulkgen_pipeline.inspection import hamming, look_at, near_duplicates
from bulkgen_pipeline.inspection.similarity import DEFAULT_THRESHOLD

from .pictures import encoded, same_picture_variants, scene


def test_the_same_picture_transformed_is_flagged_against_its_original():
    for seed in range(8):
        original = scene(seed)
        hashes = {1: look_at(encoded(original)).perceptual_hash}
        for number, (name, data) in enumerate(same_picture_variants(original).items(), start=2):
            hashes[number] = look_at(data).perceptual_hash
            assert hamming(hashes[1], hashes[number]) <= DEFAULT_THRESHOLD, (seed, name)
        flagged = {(p.first, p.second) for p in near_duplicates(hashes)}
        assert {(1, n) for n in range(2, len(hashes) + 1)} <= flagged


def test_distinct_pictures_are_not_flagged():
    hashes = {seed: look_at(encoded(scene(seed))).perceptual_hash for seed in range(40)}
    distances = [hamming(a, b) for a, b in combinations(hashes.values(), 2)]
    assert min(distances) > DEFAULT_THRESHOLD
    assert near_duplicates(hashes) == []


def test_pairs_meant_to_look_alike_are_left_out_and_the_closest_come_first():
    first, second = scene(1), scene(2)
    hashes = {
        1: look_at(encoded(first)).perceptual_hash,
        2: look_at(encoded(first, "JPEG", quality=50)).perceptual_hash,
        3: look_at(encoded(second)).perceptual_hash,
        4: look_at(encoded(second.resize((256, 256)))).perceptual_hash,
    }
    pairs = near_duplicates(hashes)
    assert {(p.first, p.second) for p in pairs} == {(1, 2), (3, 4)}
    assert [p.distance for p in pairs] == sorted(p.distance for p in pairs)
    # 1 and 2 are one generation in two sizes: meant to look alike, not reported.
    assert [
        (p.first, p.second) for p in near_duplicates(hashes, same_picture=[frozenset((1, 2))])
    ] == [(3, 4)]
    assert near_duplicates(hashes, threshold=-1) == []

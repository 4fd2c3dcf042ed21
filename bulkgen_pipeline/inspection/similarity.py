"""Near-duplicate images by perceptual hash (pHash: the low frequencies of the picture's DCT,
one bit each for above or below their median). Resizing, re-encoding or mild noise moves a few
of its 64 bits; a different picture moves about half. Two images are near-duplicates when their
hashes differ in at most `threshold` bits (README "Near-duplicate images" has the measurements
the default comes from)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import combinations

from PIL import Image

HASH_BITS = 64
# Measured (benchmarks/bench_inspection.py, README): the same picture resized, re-encoded,
# noised or blurred stays within 4 bits; distinct pictures were 14 bits apart at the least
# (previews of one run; scenes 16), and 20 or more for 99 % of pairs.
DEFAULT_THRESHOLD = 6


def perceptual_hash(image: Image.Image) -> str:
    """The image's 64-bit pHash as 16 hex digits."""
    # Imported on first use: imagehash brings scipy's DCT (0.3 CPU-s), which the API, the
    # console and the CLI's other commands never need.
    import imagehash

    return str(imagehash.phash(image, hash_size=8))


def hamming(first: str, second: str) -> int:
    """How many of the two hashes' bits differ."""
    return (int(first, 16) ^ int(second, 16)).bit_count()


@dataclass(frozen=True)
class NearDuplicate:
    first: int  # generation_index of the one image
    second: int  # and of the other (first < second)
    distance: int  # differing hash bits

    def to_dict(self) -> dict[str, int]:
        return {"first": self.first, "second": self.second, "distance": self.distance}


def near_duplicates(
    hashes: Mapping[int, str],
    threshold: int = DEFAULT_THRESHOLD,
    same_picture: Iterable[frozenset[int]] = (),
) -> list[NearDuplicate]:
    """Every pair of images whose hashes are within `threshold` bits, closest first. Pairs in
    `same_picture` are meant to look alike (one generation in several sizes) and are left out."""
    alike = set(same_picture)
    pairs = []
    for (a, hash_a), (b, hash_b) in combinations(sorted(hashes.items()), 2):
        if frozenset((a, b)) in alike:
            continue
        distance = hamming(hash_a, hash_b)
        if distance <= threshold:
            pairs.append(NearDuplicate(a, b, distance))
    return sorted(pairs, key=lambda p: (p.distance, p.first, p.second))

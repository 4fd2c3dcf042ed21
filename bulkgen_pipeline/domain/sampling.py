"""Drawing combinations of random attributes: small interchangeable samplers behind one shape.

A combination is a tuple of option indexes, one per random attribute. The product space can be
astronomically large (12 attributes of 10 options is 10^12), so no sampler ever lists it: the
unique sampler draws integers from range(space) and decodes them in mixed radix.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

Combination = tuple[int, ...]


def seeded_rng(seed: int | str, stream: str) -> random.Random:
    """An RNG for one concern of one run; the same inputs give the same draws on any machine.

    Each concern (attributes, colours, image seeds) has its own stream so that changing how one
    is drawn never shifts the others.
    """
    digest = hashlib.sha256(f"{seed}\x1f{stream}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def derive_seed(seed: int | str, stream: str, index: int) -> int:
    """A stable 31-bit seed for item `index` (providers take signed 32-bit seeds)."""
    digest = hashlib.sha256(f"{seed}\x1f{stream}\x1f{index}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def space_size(option_counts: Sequence[int]) -> int:
    return math.prod(option_counts)  # 1 for no random attributes: the single empty combination


def decode(index: int, option_counts: Sequence[int]) -> Combination:
    digits = []
    for count in reversed(option_counts):
        index, digit = divmod(index, count)
        digits.append(digit)
    return tuple(reversed(digits))


@dataclass(frozen=True)
class Draw:
    combinations: list[Combination]
    space: int  # how many distinct combinations exist

    @property
    def distinct(self) -> int:
        return len(set(self.combinations))


class Sampler(Protocol):
    def draw(self, option_counts: Sequence[int], n: int, rng: random.Random) -> Draw: ...


class UniqueSampler:
    """Distinct combinations, drawn without replacement; cycles only when the space is too small."""

    def draw(self, option_counts: Sequence[int], n: int, rng: random.Random) -> Draw:
        space = space_size(option_counts)
        if space <= 4 * n:
            # Small enough to shuffle whole; repeat the shuffled space if it holds fewer than n.
            order: list[int] = []
            while len(order) < n:
                block = list(range(space))
                rng.shuffle(block)
                order.extend(block)
            indexes = order[:n]
        else:
            # Rejection keeps this O(n): with space > 4n a draw is new at least 3 times in 4.
            seen: set[int] = set()
            indexes = []
            while len(indexes) < n:
                candidate = rng.randrange(space)
                if candidate not in seen:
                    seen.add(candidate)
                    indexes.append(candidate)
        return Draw([decode(i, option_counts) for i in indexes], space)


class BalancedSampler:
    """Every attribute's values used about equally often, and combinations distinct where possible.

    Each attribute gets its own column of shuffled full rounds of its options (so counts differ by
    at most one). Swapping two cells of one column keeps that column's counts, so duplicates are
    then removed by swaps that never lower the number of distinct rows.
    """

    max_swaps_per_row = 200

    def draw(self, option_counts: Sequence[int], n: int, rng: random.Random) -> Draw:
        space = space_size(option_counts)
        columns = [self._balanced_column(count, n, rng) for count in option_counts]
        target = min(space, n)
        if columns:
            self._remove_duplicates(columns, n, target, rng)
        rows = [tuple(col[r] for col in columns) for r in range(n)]
        return Draw(rows, space)

    @staticmethod
    def _balanced_column(count: int, n: int, rng: random.Random) -> list[int]:
        column: list[int] = []
        while len(column) < n:
            block = list(range(count))
            rng.shuffle(block)
            column.extend(block)
        return column[:n]

    def _remove_duplicates(
        self, columns: list[list[int]], n: int, target: int, rng: random.Random
    ) -> None:
        def row(r: int) -> Combination:
            return tuple(col[r] for col in columns)

        distinct = len({row(r) for r in range(n)})
        budget = self.max_swaps_per_row * n
        while distinct < target and budget > 0:
            budget -= 1
            seen: dict[Combination, int] = {}
            duplicate = next(r for r in range(n) if seen.setdefault(row(r), r) != r)
            c = rng.randrange(len(columns))
            other = rng.randrange(n)
            column = columns[c]
            if column[duplicate] == column[other]:
                continue
            column[duplicate], column[other] = column[other], column[duplicate]
            after = len({row(r) for r in range(n)})
            if after < distinct:
                column[duplicate], column[other] = column[other], column[duplicate]
            else:
                distinct = after


SAMPLERS: dict[str, Sampler] = {"unique": UniqueSampler(), "balanced": BalancedSampler()}

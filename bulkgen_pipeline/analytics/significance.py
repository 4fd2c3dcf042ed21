"""The tests the report runs, and the correction that keeps many of them honest.

Each section of the report (value frequencies, failure rates) tests every attribute as a whole
and every value on its own, and corrects all of those tests together with Holm's step-down
method: the chance that an unbiased history raises *any* flag in the section stays at or below
alpha. An attribute is flagged when its own test or any of its values is: a value drawn or
refused out of line means the attribute is too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

DEFAULT_ALPHA = 0.05


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values: reject where adjusted < alpha (family-wise error <= alpha)."""
    p = np.asarray(p_values, dtype=float)
    if p.size == 0:
        return p
    order = np.argsort(p, kind="stable")
    m = p.size
    stepped = (m - np.arange(m)) * p[order]
    adjusted_sorted = np.minimum(np.maximum.accumulate(stepped), 1.0)
    adjusted = np.empty_like(p)
    adjusted[order] = adjusted_sorted
    return adjusted


def holm_together(*families: np.ndarray) -> list[np.ndarray]:
    """Holm over the union of several arrays of p-values, split back into their shapes."""
    sizes = [len(f) for f in families]
    adjusted = holm(np.concatenate([np.asarray(f, dtype=float) for f in families]))
    return np.split(adjusted, np.cumsum(sizes)[:-1])


@dataclass(frozen=True)
class PoolCounts:
    """Draws from one pool: how often each value came up, and how likely each option was."""

    observed: Mapping[str, int]
    probabilities: Mapping[str, float]

    @property
    def picks(self) -> int:
        return int(sum(self.observed.values()))


@dataclass(frozen=True)
class GoodnessOfFit:
    statistic: float
    dof: int
    p_value: float
    min_expected: float
    outside_pool: tuple[str, ...]  # values drawn that their pool does not hold


def goodness_of_fit(pools: Sequence[PoolCounts]) -> GoodnessOfFit:
    """Pearson's chi-square of observed against expected counts, per pool, summed over pools.

    Draws from different pools (a background pool with a model and one without; palettes of
    different presets) are independent, so their statistics add up to one chi-square whose
    degrees of freedom are the sum of each pool's. A value drawn outside its pool can only be
    a bug: the p-value is then 0.
    """
    statistic = 0.0
    dof = 0
    min_expected = np.inf
    outside: set[str] = set()
    for pool in pools:
        options = list(pool.probabilities)
        outside.update(v for v, n in pool.observed.items() if n and v not in pool.probabilities)
        if len(options) < 2 or pool.picks == 0:
            continue
        observed = np.array([pool.observed.get(o, 0) for o in options], dtype=float)
        chance = np.array([pool.probabilities[o] for o in options])
        expected = chance / chance.sum() * observed.sum()
        statistic += float(((observed - expected) ** 2 / expected).sum())
        dof += len(options) - 1
        min_expected = min(min_expected, float(expected.min()))
    if outside:
        p_value = 0.0
    elif dof == 0:
        p_value = 1.0
    else:
        p_value = float(stats.chi2.sf(statistic, dof))
    return GoodnessOfFit(
        statistic, dof, p_value, float(min_expected) if dof else np.nan, tuple(sorted(outside))
    )


@dataclass(frozen=True)
class ValueDeviations:
    """Per value: observed and expected count, z-score and two-sided p-value."""

    values: list[str]
    observed: np.ndarray
    expected: np.ndarray
    z: np.ndarray
    p_value: np.ndarray


def value_deviations(pools: Sequence[PoolCounts]) -> ValueDeviations:
    """How far each value's count is from its expectation, as two-sided z-tests.

    Each pick is a Bernoulli trial with the value's probability in its pool, so the count's
    exact mean and variance are sums over pools (a Poisson-binomial); with the hundreds of
    picks a history holds the normal approximation is close. A value its pools cannot produce
    has variance 0: any draw of it is impossible (p = 0).
    """
    values = sorted({v for p in pools for v in (*p.probabilities, *p.observed)})
    observed = np.array([sum(int(p.observed.get(v, 0)) for p in pools) for v in values], float)
    expected = np.zeros(len(values))
    variance = np.zeros(len(values))
    for pool in pools:
        chance = np.array([pool.probabilities.get(v, 0.0) for v in values])
        expected += pool.picks * chance
        variance += pool.picks * chance * (1 - chance)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(variance > 0, (observed - expected) / np.sqrt(variance), 0.0)
    exact = np.isclose(observed, expected)
    z = np.where((variance == 0) & ~exact, np.inf, z)
    p_value = 2 * stats.norm.sf(np.abs(z))
    return ValueDeviations(values, observed.astype(int), expected, z, p_value)


@dataclass(frozen=True)
class Stratum:
    """One value against the rest of its pool, in one stratum: failed and total generations."""

    failed: int
    total: int
    failed_rest: int
    total_rest: int


@dataclass(frozen=True)
class RateDifference:
    p_value: float
    excess_failures: float  # observed minus expected failures of the value (> 0: fails more)


def rate_difference(strata: Sequence[Stratum]) -> RateDifference:
    """Does a value fail more or less often than the other values of its pool?

    The Cochran-Mantel-Haenszel test: the value against the rest inside each stratum (each pool
    it was drawn from, e.g. the same colour in different palettes), so strata that fail more
    for other reasons fool nobody. With one stratum and a small table (an expected cell under
    5) Fisher's exact test instead, where the chi-square approximation would be poor.
    """
    useful = [
        s
        for s in strata
        if s.total and s.total_rest and 0 < s.failed + s.failed_rest < s.total + s.total_rest
    ]
    if not useful:
        return RateDifference(1.0, 0.0)
    observed = expected = variance = 0.0
    for s in useful:
        n = s.total + s.total_rest
        failures = s.failed + s.failed_rest
        observed += s.failed
        expected += s.total * failures / n
        variance += s.total * s.total_rest * failures * (n - failures) / (n * n * (n - 1))
    if len(useful) == 1 and _smallest_expected_cell(useful[0]) < 5:
        s = useful[0]
        table = [[s.failed, s.total - s.failed], [s.failed_rest, s.total_rest - s.failed_rest]]
        return RateDifference(float(stats.fisher_exact(table).pvalue), observed - expected)
    if variance == 0:
        return RateDifference(1.0, observed - expected)
    statistic = (observed - expected) ** 2 / variance
    return RateDifference(float(stats.chi2.sf(statistic, 1)), observed - expected)


def _smallest_expected_cell(s: Stratum) -> float:
    n = s.total + s.total_rest
    failures = s.failed + s.failed_rest
    return min(s.total, s.total_rest) * min(failures, n - failures) / n


@dataclass(frozen=True)
class Independence:
    statistic: float
    dof: int
    p_value: float


def independence(tables: Sequence[np.ndarray]) -> Independence:
    """Chi-square test of independence of failure and value, one 2 x k table per pool, the
    statistics of independent pools summed."""
    statistic = 0.0
    dof = 0
    for table in tables:
        table = table[:, table.sum(axis=0) > 0]
        if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
            continue
        result = stats.chi2_contingency(table, correction=False)
        statistic += float(result.statistic)
        dof += int(result.dof)
    p_value = float(stats.chi2.sf(statistic, dof)) if dof else 1.0
    return Independence(statistic, dof, p_value)


def wilson_interval(successes: np.ndarray, trials: np.ndarray, z: float = 1.96) -> np.ndarray:
    """95 % Wilson score interval of a proportion, shape (2, n): good also near 0 and 1."""
    n = np.maximum(np.asarray(trials, dtype=float), 1)
    p = np.asarray(successes, dtype=float) / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return np.vstack([np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)])

"""How randomization turned out: value frequencies against the strategy, balance, uniqueness,
what merchants fix, and how palette colours were handed out.

Every function takes generation_facts as a pandas DataFrame and returns DataFrames.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from .facts import Source, parse_pool
from .significance import (
    DEFAULT_ALPHA,
    PoolCounts,
    goodness_of_fit,
    holm,
    holm_together,
    value_deviations,
)

SAMPLING_STRATEGIES = ("unique", "balanced")  # both should give every option the same chance
TESTED_COLOUR_STRATEGIES = ("random", "weighted")  # cycling is deterministic: checked, not tested
# Settings, not attributes: never drawn, so "fixed or random" means nothing for them.
SETTINGS = ("use_model", "mode", "seed")


@lru_cache(maxsize=4096)
def _pool(label: str) -> dict[str, float]:
    return parse_pool(label)


def runs_of(facts: pd.DataFrame) -> pd.DataFrame:
    """One row per run with its run-level columns."""
    columns = [
        "run_id",
        "user_id",
        "preset_id",
        "preset_name",
        "category",
        "created_at",
        "run_seed",
        "combination_space",
        "generation_count",
    ]
    codes = facts["run_id"].cat.codes.to_numpy()
    _, first = np.unique(codes, return_index=True)
    return facts.iloc[np.sort(first)][columns].reset_index(drop=True)


def drop_replays(facts: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keep one run of each (preset, seed), and one size of each generation.

    A preset with its own seed draws the same values in every run: counting each replay would
    count one draw many times and make chance deviations look significant. Runs without a
    preset seed are seeded by their own id and are all kept. For the same reason a generation
    rendered in several sizes counts once: its rows for the other sizes repeat its one draw.
    """
    if "size" in facts and facts["size"].notna().any():
        facts = facts[~facts.duplicated(["run_id", "generation_index", "attribute"])]
    runs = runs_of(facts)
    latest = runs.sort_values("created_at").drop_duplicates(["preset_id", "run_seed"], keep="last")
    dropped = len(runs) - len(latest)
    if not dropped:
        return facts, 0
    return facts[facts["run_id"].isin(latest["run_id"])], dropped


def _pooled_counts(rows: pd.DataFrame, keys: list[str]) -> dict[tuple, list[PoolCounts]]:
    """Observed counts per pool, grouped by `keys` (e.g. category, attribute, strategy)."""
    counts = rows.groupby([*keys, "drawn_from", "value"], observed=True).size()
    grouped: dict[tuple, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for index, count in counts.items():
        *key, label, value = index
        grouped[tuple(key)][label][value] = int(count)
    return {
        key: [PoolCounts(observed, _pool(label)) for label, observed in by_pool.items()]
        for key, by_pool in grouped.items()
    }


@dataclass(frozen=True)
class FrequencyResult:
    tests: pd.DataFrame  # one row per (category, attribute, strategy)
    values: pd.DataFrame  # one row per value of each tested attribute


_TEST_KEYS = ["category", "attribute", "strategy"]


def value_frequencies(facts: pd.DataFrame, alpha: float = DEFAULT_ALPHA) -> FrequencyResult:
    """Observed counts of each randomly drawn value against an even chance, tested with a
    chi-square goodness of fit per attribute and a z-test per value, all Holm-corrected
    together."""
    drawn = (
        (facts["source"] == Source.RANDOM)
        & facts["drawn_from"].notna()
        & facts["strategy"].isin(SAMPLING_STRATEGIES)
    )
    rows = facts.loc[drawn, [*_TEST_KEYS, "drawn_from", "value", "run_id"]]
    return _frequencies(rows, _TEST_KEYS, alpha)


def _frequencies(rows: pd.DataFrame, keys: list[str], alpha: float) -> FrequencyResult:
    pooled = _pooled_counts(rows, keys)
    run_counts = rows.groupby(keys, observed=True)["run_id"].nunique()
    tests = []
    values = []
    for key in sorted(pooled):
        pools = pooled[key]
        fit = goodness_of_fit(pools)
        picks = sum(p.picks for p in pools)
        tests.append(
            {
                **dict(zip(keys, key, strict=True)),
                "runs": int(run_counts.get(key, 0)),
                "picks": picks,
                "values": len({v for p in pools for v in p.probabilities}),
                "chi2": fit.statistic,
                "dof": fit.dof,
                "p_value": fit.p_value,
                "min_expected": fit.min_expected,
                "outside_pool": ", ".join(fit.outside_pool),
            }
        )
        deviations = value_deviations(pools)
        values.append(
            pd.DataFrame(
                {
                    **{name: part for name, part in zip(keys, key, strict=True)},
                    "value": deviations.values,
                    "observed": deviations.observed,
                    "expected": deviations.expected,
                    "share": deviations.observed / picks if picks else np.nan,
                    "expected_share": deviations.expected / picks if picks else np.nan,
                    "z": deviations.z,
                    "p_value": deviations.p_value,
                },
                index=pd.RangeIndex(len(deviations.values)),
            )
        )
    tests_frame = pd.DataFrame(tests, columns=[*keys, *_TEST_COLUMNS])
    values_frame = (
        pd.concat(values, ignore_index=True)
        if values
        else pd.DataFrame(columns=[*keys, *_VALUE_COLUMNS])
    )
    tests_frame["p_adjusted"], values_frame["p_adjusted"] = holm_together(
        tests_frame["p_value"].to_numpy(), values_frame["p_value"].to_numpy()
    )
    significant = values_frame["p_adjusted"].to_numpy() < alpha
    off = set(values_frame.loc[significant, keys].itertuples(index=False, name=None))
    tests_frame["flagged"] = (tests_frame["p_adjusted"] < alpha).to_numpy() | np.array(
        [key in off for key in tests_frame[keys].itertuples(index=False, name=None)], dtype=bool
    )
    direction = np.where(values_frame["observed"] > values_frame["expected"], "over", "under")
    values_frame["flag"] = np.where(significant, direction, "")
    values_frame.loc[significant & (values_frame["expected"].to_numpy() == 0), "flag"] = (
        "outside pool"
    )
    return FrequencyResult(tests_frame, values_frame)


_TEST_COLUMNS = [
    "runs",
    "picks",
    "values",
    "chi2",
    "dof",
    "p_value",
    "min_expected",
    "outside_pool",
]
_VALUE_COLUMNS = ["value", "observed", "expected", "share", "expected_share", "z", "p_value"]


@dataclass(frozen=True)
class BalanceResult:
    runs: int
    draws: int  # (run, attribute) pairs checked
    within_one: int
    violations: pd.DataFrame  # run_id, category, attribute, spread


def balance(facts: pd.DataFrame) -> BalanceResult:
    """For balanced runs: per run and attribute, the most and least used option (unused options
    count as 0) differ by at most one."""
    balanced = (facts["source"] == Source.RANDOM) & (facts["strategy"] == "balanced")
    rows = facts.loc[balanced, ["run_id", "category", "attribute", "value", "drawn_from"]]
    empty = pd.DataFrame(columns=["run_id", "category", "attribute", "spread"])
    if rows.empty:
        return BalanceResult(0, 0, 0, empty)
    counts = rows.groupby(["run_id", "attribute", "value"], observed=True).size()
    per_draw = counts.groupby(level=[0, 1], observed=True).agg(["max", "min", "count"])
    pools = rows.groupby(["run_id", "attribute"], observed=True).agg(
        drawn_from=("drawn_from", "first"), category=("category", "first")
    )
    per_draw = per_draw.join(pools)
    options = per_draw["drawn_from"].map(lambda label: len(_pool(label)) if label else 0)
    least = np.where(per_draw["count"] >= options, per_draw["min"], 0)
    per_draw["spread"] = per_draw["max"] - least
    bad = per_draw[per_draw["spread"] > 1].reset_index()
    return BalanceResult(
        runs=int(rows["run_id"].nunique()),
        draws=len(per_draw),
        within_one=int((per_draw["spread"] <= 1).sum()),
        violations=bad[["run_id", "category", "attribute", "spread"]],
    )


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A 64-bit mixer: (attribute, value) codes to well-spread hashes that can be summed."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class UniquenessResult:
    summary: pd.DataFrame  # per category: runs, all distinct, small space, unexpected repeats
    repeats: pd.DataFrame  # runs that repeat a combination although the space had room


def uniqueness(facts: pd.DataFrame) -> UniquenessResult:
    """Within each run, are the combinations of random attributes distinct? Runs whose space
    holds fewer combinations than generations may repeat (and say so in their notes)."""
    columns = ["category", "runs", "all_distinct", "space_too_small", "unexpected_repeats"]
    drawn = (facts["source"] == Source.RANDOM).to_numpy()
    if not drawn.any():
        return UniquenessResult(pd.DataFrame(columns=columns), pd.DataFrame())
    run = facts["run_id"].cat.codes.to_numpy()[drawn].astype(np.int64)
    generation = facts["generation_index"].to_numpy()[drawn].astype(np.int64)
    with np.errstate(over="ignore"):
        mixed = _splitmix64(
            facts["attribute"].cat.codes.to_numpy()[drawn].astype(np.uint64) * np.uint64(1_000_003)
            + facts["value"].cat.codes.to_numpy()[drawn].astype(np.uint64)
        )
    # One hash per generation: a sum of mixed hashes does not depend on attribute order.
    order = np.lexsort((generation, run))
    key = run[order] * 65_536 + generation[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    with np.errstate(over="ignore"):
        combination = np.add.reduceat(mixed[order], starts)
    generation_run = run[order][starts]
    # Per run (generation_run is sorted): generations, and distinct combinations.
    run_starts = np.flatnonzero(np.r_[True, generation_run[1:] != generation_run[:-1]])
    generations = np.diff(np.r_[run_starts, len(generation_run)])
    pairs = np.unique(np.stack([generation_run, combination.view(np.int64)]), axis=1)
    _, distinct = np.unique(pairs[0], return_counts=True)
    info = facts.iloc[np.flatnonzero(drawn)[order][starts][run_starts]]
    per_run = pd.DataFrame(
        {
            "run_id": info["run_id"].to_numpy(),
            "category": info["category"].to_numpy(),
            "combination_space": info["combination_space"].to_numpy(),
            "generations": generations,
            "distinct": distinct,
        }
    )
    room = np.minimum(per_run["generations"], per_run["combination_space"].fillna(np.inf))
    per_run["all_distinct"] = per_run["distinct"] == per_run["generations"]
    per_run["space_too_small"] = ~per_run["all_distinct"] & (per_run["distinct"] >= room)
    per_run["unexpected"] = ~per_run["all_distinct"] & ~per_run["space_too_small"]
    summary = (
        per_run.groupby("category", observed=True)
        .agg(
            runs=("generations", "size"),
            all_distinct=("all_distinct", "sum"),
            space_too_small=("space_too_small", "sum"),
            unexpected_repeats=("unexpected", "sum"),
        )
        .reset_index()
    )
    repeats = per_run.loc[
        per_run["unexpected"],
        ["run_id", "category", "generations", "distinct", "combination_space"],
    ].reset_index(drop=True)
    return UniquenessResult(summary[columns], repeats)


def fixed_or_random(facts: pd.DataFrame) -> pd.DataFrame:
    """Per category and attribute: of the presets (each as of its latest run), how many fix it
    and how many leave it random (for colours: one colour, or a palette handed out)."""
    runs = runs_of(facts)
    latest = runs.sort_values("created_at").drop_duplicates("preset_id", keep="last")["run_id"]
    chosen = facts["run_id"].isin(latest) & ~facts["attribute"].isin(SETTINGS)
    rows = facts.loc[chosen, ["run_id", "preset_id", "category", "attribute", "source"]]
    columns = ["category", "attribute", "presets", "fixed", "random", "share_random"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    first = rows.drop_duplicates(["run_id", "attribute"])
    table = (
        first.assign(fixed=first["source"] == Source.USER)
        .groupby(["category", "attribute"], observed=True)
        .agg(presets=("preset_id", "nunique"), fixed=("fixed", "sum"))
        .reset_index()
    )
    table["random"] = table["presets"] - table["fixed"]
    table["share_random"] = table["random"] / table["presets"]
    return table[columns].sort_values(["category", "share_random"], ascending=[True, False])


@dataclass(frozen=True)
class ColourResult:
    strategies: pd.DataFrame  # per strategy: runs, picks, colours, test / check, flagged
    colours: pd.DataFrame  # per strategy and colour: observed, expected, share


def colour_distribution(facts: pd.DataFrame, alpha: float = DEFAULT_ALPHA) -> ColourResult:
    """Palette colours per colour strategy: `random` and `weighted` tested against their
    weights (chi-square, Holm-corrected); `cycling` checked to follow palette order exactly."""
    rows = facts[
        (facts["attribute"] == "color")
        & (facts["source"] == Source.DISTRIBUTED)
        & facts["drawn_from"].notna()
    ]
    strategies = []
    colours = []
    tested = rows[rows["strategy"].isin(TESTED_COLOUR_STRATEGIES)]
    pooled = _pooled_counts(tested, ["strategy"])
    for (strategy,), pools in sorted(pooled.items()):
        fit = goodness_of_fit(pools)
        part = tested[tested["strategy"] == strategy]
        strategies.append(
            {
                "strategy": strategy,
                "runs": int(part["run_id"].nunique()),
                "picks": sum(p.picks for p in pools),
                "colours": int(part["value"].nunique()),
                "check": "chi-square against the palette weights",
                "p_value": fit.p_value,
                "mismatches": 0,
            }
        )
        deviations = value_deviations(pools)
        for value, observed, expected in zip(
            deviations.values, deviations.observed, deviations.expected, strict=True
        ):
            colours.append(
                {"strategy": strategy, "value": value, "observed": observed, "expected": expected}
            )
    cycling = rows[rows["strategy"] == "cycling"]
    if not cycling.empty:
        labels = cycling["drawn_from"].astype(str).to_numpy()
        positions = cycling["generation_index"].to_numpy().astype(int) - 1
        expected = np.array(
            [palette[p % len(palette)] for palette, p in _palettes(labels, positions)]
        )
        actual = cycling["value"].astype(str).to_numpy()
        strategies.append(
            {
                "strategy": "cycling",
                "runs": int(cycling["run_id"].nunique()),
                "picks": len(cycling),
                "colours": int(cycling["value"].nunique()),
                "check": "each generation gets the next palette colour",
                "p_value": np.nan,
                "mismatches": int((expected != actual).sum()),
            }
        )
        observed = pd.Series(actual).value_counts()
        wanted = pd.Series(expected).value_counts()
        for value in sorted(set(observed.index) | set(wanted.index)):
            colours.append(
                {
                    "strategy": "cycling",
                    "value": value,
                    "observed": int(observed.get(value, 0)),
                    "expected": float(wanted.get(value, 0)),
                }
            )
    strategy_frame = pd.DataFrame(
        strategies,
        columns=["strategy", "runs", "picks", "colours", "check", "p_value", "mismatches"],
    )
    adjusted = holm(strategy_frame["p_value"].fillna(1.0).to_numpy())
    strategy_frame["p_adjusted"] = np.where(strategy_frame["p_value"].isna(), np.nan, adjusted)
    strategy_frame["flagged"] = (strategy_frame["p_adjusted"] < alpha) | (
        strategy_frame["mismatches"] > 0
    )
    colour_frame = pd.DataFrame(colours, columns=["strategy", "value", "observed", "expected"])
    totals = colour_frame.groupby("strategy")["observed"].transform("sum")
    colour_frame["share"] = colour_frame["observed"] / totals.replace(0, np.nan)
    return ColourResult(strategy_frame, colour_frame)


def _palettes(labels: np.ndarray, positions: np.ndarray) -> Iterator[tuple[list[str], int]]:
    cache: dict[str, list[str]] = {}
    for label, position in zip(labels, positions, strict=True):
        palette = cache.get(label)
        if palette is None:
            palette = cache[label] = json.loads(label)
        yield palette, position

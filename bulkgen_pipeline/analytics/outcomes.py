"""What became of the generations: failure rate by attribute value, and providers' performance.

Which values providers refuse is judged on randomly drawn values only: the draw decides which
generations show a value, so a value's failure rate can be compared with the rest of its
attribute without run-level causes (an outage, a merchant's odd preset) getting in the way.
The rate over every generation is shown next to it for context.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..runs.packaging import AnalyticsOutcome
from .facts import Source
from .randomization import SETTINGS
from .significance import (
    DEFAULT_ALPHA,
    RateDifference,
    Stratum,
    holm_together,
    independence,
    rate_difference,
    wilson_interval,
)

FINISHED = (AnalyticsOutcome.SUCCEEDED.value, AnalyticsOutcome.FAILED.value)
NO_PROVIDER = "(none)"  # failed before any provider made an image


@dataclass(frozen=True)
class FailureResult:
    tests: pd.DataFrame  # per (category, attribute): chi-square of independence
    values: pd.DataFrame  # per value: counts, rate, interval, test, flag


_KEYS = ["category", "attribute", "value"]


def failure_rates(facts: pd.DataFrame, alpha: float = DEFAULT_ALPHA) -> FailureResult:
    """Failure rate of each attribute value; flagged where, among random draws, the value fails
    significantly more or less often than the other values of its pool (the value tests and
    the per-attribute tests Holm-corrected together)."""
    chosen = facts["status"].isin(FINISHED) & ~facts["attribute"].isin(SETTINGS)
    finished = facts.loc[chosen, [*_KEYS, "source", "drawn_from", "failure_reason"]]
    finished["failed"] = (facts.loc[chosen, "status"] == AnalyticsOutcome.FAILED).to_numpy()
    values = (
        finished.groupby(_KEYS, observed=True)["failed"]
        .agg(["size", "sum"])
        .rename(columns={"size": "all_generations", "sum": "all_failed"})
    )
    drawn = finished[
        finished["source"].isin([Source.RANDOM, Source.DISTRIBUTED])
        & finished["drawn_from"].notna()
    ]
    by_pool = (
        drawn.groupby([*_KEYS, "drawn_from"], observed=True)["failed"]
        .agg(["size", "sum"])
        .rename(columns={"size": "n", "sum": "f"})
        .reset_index()
    )
    random_counts = by_pool.groupby(_KEYS, observed=True)[["n", "f"]].sum()
    values = values.join(random_counts, how="left").fillna({"n": 0, "f": 0}).reset_index()
    values = values.rename(columns={"n": "generations", "f": "failed"})
    values[["generations", "failed"]] = values[["generations", "failed"]].astype(int)
    values["rate"] = values["failed"] / values["generations"].replace(0, np.nan)
    values["all_rate"] = values["all_failed"] / values["all_generations"]
    low, high = wilson_interval(values["failed"].to_numpy(), values["generations"].to_numpy())
    values["rate_low"], values["rate_high"] = low, high

    tests, differences = _tests(by_pool)
    found = [differences.get(key) for key in values[_KEYS].itertuples(index=False, name=None)]
    values["p_value"] = [d.p_value if d else 1.0 for d in found]
    excess = np.array([d.excess_failures if d else 0.0 for d in found])
    tests["p_adjusted"], values["p_adjusted"] = holm_together(
        tests["p_value"].to_numpy(), values["p_value"].to_numpy()
    )
    significant = values["p_adjusted"].to_numpy() < alpha
    pairs = ["category", "attribute"]
    off = set(values.loc[significant, pairs].itertuples(index=False, name=None))
    tests["flagged"] = (tests["p_adjusted"] < alpha).to_numpy() | np.array(
        [pair in off for pair in tests[pairs].itertuples(index=False, name=None)], dtype=bool
    )
    values["flag"] = np.where(significant, np.where(excess > 0, "higher", "lower"), "")
    reasons = _top_reasons(drawn)
    values["top_reason"] = [
        reasons.get(key) for key in values[_KEYS].itertuples(index=False, name=None)
    ]
    return FailureResult(tests, values)


def _tests(by_pool: pd.DataFrame) -> tuple[pd.DataFrame, dict[tuple, RateDifference]]:
    """Per attribute the independence test over its pools; per value its rate difference."""
    rows = []
    differences: dict[tuple, RateDifference] = {}
    for (category, attribute), group in by_pool.groupby(["category", "attribute"], sort=True):
        tables = []
        strata: dict[str, list[Stratum]] = {}
        for _, pool in group.groupby("drawn_from", sort=False):
            n, f = pool["n"].to_numpy(), pool["f"].to_numpy()
            tables.append(np.vstack([f, n - f]))
            total_n, total_f = int(n.sum()), int(f.sum())
            for value, ni, fi in zip(pool["value"], n, f, strict=True):
                strata.setdefault(value, []).append(
                    Stratum(int(fi), int(ni), total_f - int(fi), total_n - int(ni))
                )
        test = independence(tables)
        rows.append(
            {
                "category": category,
                "attribute": attribute,
                "values": group["value"].nunique(),
                "generations": int(group["n"].sum()),
                "failed": int(group["f"].sum()),
                "chi2": test.statistic,
                "dof": test.dof,
                "p_value": test.p_value,
            }
        )
        for value, value_strata in strata.items():
            differences[(category, attribute, value)] = rate_difference(value_strata)
    columns = ["category", "attribute", "values", "generations", "failed", "chi2", "dof", "p_value"]
    return pd.DataFrame(rows, columns=columns), differences


def _top_reasons(rows: pd.DataFrame) -> dict[tuple, str]:
    """The most frequent failure reason of each value."""
    failed = rows[rows["failed"] & rows["failure_reason"].notna()]
    if failed.empty:
        return {}
    counts = failed.groupby([*_KEYS, "failure_reason"], observed=True).size()
    top = counts.sort_values(ascending=False).reset_index().drop_duplicates(_KEYS)
    return {
        (c, a, v): str(r)
        for c, a, v, r in top[[*_KEYS, "failure_reason"]].itertuples(index=False, name=None)
    }


@dataclass(frozen=True)
class ProviderResult:
    table: pd.DataFrame  # per provider and model
    latencies: dict[str, np.ndarray]  # "provider · model" -> latencies of the images it made


_PER_GENERATION = ["status", "provider", "model", "attempts", "latency_s"]


def generations_of(facts: pd.DataFrame) -> pd.DataFrame:
    """One row per generation (the facts repeat it on each of its attributes)."""
    key = facts["run_id"].cat.codes.to_numpy().astype(np.int64) * 65_536 + facts[
        "generation_index"
    ].to_numpy().astype(np.int64)
    _, first = np.unique(key, return_index=True)
    return facts.iloc[np.sort(first)][_PER_GENERATION]


def provider_performance(facts: pd.DataFrame) -> ProviderResult:
    """Per provider and model: images made, success rate where failures name the provider,
    attempts (retries included), latency p50 and p95. Generations a cancel stopped before they
    started are left out."""
    generations = generations_of(facts)
    generations = generations[generations["status"].isin(FINISHED)]
    frame = pd.DataFrame(
        {
            "provider": generations["provider"].astype(object).fillna(NO_PROVIDER).to_numpy(),
            "model": generations["model"].astype(object).fillna("").to_numpy(),
            "succeeded": (generations["status"] == AnalyticsOutcome.SUCCEEDED).to_numpy(),
            "attempts": generations["attempts"].to_numpy(dtype=float),
            "latency_s": generations["latency_s"].to_numpy(dtype=float),
        }
    )
    columns = [
        "provider",
        "model",
        "generations",
        "succeeded",
        "failed",
        "success_rate",
        "attempts_mean",
        "attempts_p95",
        "latency_p50_s",
        "latency_p95_s",
    ]
    if frame.empty:
        return ProviderResult(pd.DataFrame(columns=columns), {})
    rows = []
    latencies = {}
    for (provider, model), group in frame.groupby(["provider", "model"], sort=True):
        made = group.loc[group["succeeded"], "latency_s"].dropna().to_numpy()
        if len(made):
            latencies[f"{provider} · {model}" if model else provider] = made
        rows.append(
            {
                "provider": provider,
                "model": model,
                "generations": len(group),
                "succeeded": int(group["succeeded"].sum()),
                "failed": int((~group["succeeded"]).sum()),
                "success_rate": float(group["succeeded"].mean()),
                "attempts_mean": float(group["attempts"].mean()),
                "attempts_p95": _quantile(group["attempts"].dropna().to_numpy(), 0.95),
                "latency_p50_s": _quantile(made, 0.5),
                "latency_p95_s": _quantile(made, 0.95),
            }
        )
    return ProviderResult(pd.DataFrame(rows, columns=columns), latencies)


def _quantile(values: np.ndarray, q: float) -> float:
    return float(np.quantile(values, q)) if len(values) else float("nan")

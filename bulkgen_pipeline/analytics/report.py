"""randomization_report: every statistic of the report, computed once from generation_facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd

from .outcomes import FailureResult, ProviderResult, failure_rates, provider_performance
from .pictures import attribute_near_duplicates, colour_adherence
from .randomization import (
    BalanceResult,
    ColourResult,
    FrequencyResult,
    UniquenessResult,
    balance,
    colour_distribution,
    drop_replays,
    fixed_or_random,
    runs_of,
    uniqueness,
    value_frequencies,
)
from .significance import DEFAULT_ALPHA


@dataclass(frozen=True)
class RandomizationReport:
    generated_at: datetime
    alpha: float
    runs: int
    generations: int
    fact_rows: int
    first_run: datetime | None
    last_run: datetime | None
    replays_dropped: int  # runs left out of the frequency tests: a preset seed replayed a draw
    frequencies: FrequencyResult
    balance: BalanceResult
    uniqueness: UniquenessResult
    fixed_or_random: pd.DataFrame
    colours: ColourResult
    failures: FailureResult
    providers: ProviderResult
    # Looking at the pictures (analytics/pictures.py).
    near_duplicates_by_attribute: pd.DataFrame
    colour_adherence: pd.DataFrame

    @property
    def flagged_attributes(self) -> pd.DataFrame:
        return self.frequencies.tests[self.frequencies.tests["flagged"]]

    @property
    def flagged_values(self) -> pd.DataFrame:
        return self.frequencies.values[self.frequencies.values["flag"] != ""]

    @property
    def flagged_failure_values(self) -> pd.DataFrame:
        return self.failures.values[self.failures.values["flag"] != ""]


def build_report(facts: pd.DataFrame, alpha: float = DEFAULT_ALPHA) -> RandomizationReport:
    runs = runs_of(facts) if len(facts) else pd.DataFrame(columns=["created_at"])
    draws, replays = drop_replays(facts) if len(facts) else (facts, 0)
    created = runs["created_at"].dropna()
    generations = (
        int(facts.groupby("run_id", observed=True)["generation_count"].first().sum())
        if len(facts)
        else 0
    )
    return RandomizationReport(
        generated_at=datetime.now(UTC),
        alpha=alpha,
        runs=len(runs),
        generations=generations,
        fact_rows=len(facts),
        first_run=created.min().to_pydatetime() if len(created) else None,
        last_run=created.max().to_pydatetime() if len(created) else None,
        replays_dropped=replays,
        frequencies=value_frequencies(draws, alpha),
        balance=balance(facts),
        uniqueness=uniqueness(facts),
        fixed_or_random=fixed_or_random(facts),
        colours=colour_distribution(draws, alpha),
        failures=failure_rates(facts, alpha),
        providers=provider_performance(facts),
        near_duplicates_by_attribute=attribute_near_duplicates(draws),
        colour_adherence=colour_adherence(facts),
    )

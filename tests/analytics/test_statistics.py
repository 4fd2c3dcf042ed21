"""The report's statistics are right: known biases are found, unbiased draws are flagged no
more often than alpha allows, balanced runs are balanced, confounders do not fool the failure
test."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bulkgen_pipeline.analytics.outcomes import NO_PROVIDER, failure_rates, provider_performance
from bulkgen_pipeline.analytics.randomization import (
    balance,
    colour_distribution,
    drop_replays,
    fixed_or_random,
    uniqueness,
    value_frequencies,
)
from bulkgen_pipeline.analytics.report import build_report
from bulkgen_pipeline.analytics.significance import holm
from bulkgen_pipeline.analytics.synthetic import SyntheticPlan, synthetic_analytics

from .conftest import facts_from
from .test_facts import real_analytics

ALPHA = 0.05


def test_holm_adjusts_step_down_and_keeps_the_order():
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 -> 0.02, 0.03, 0.06, 0.04 -> running max
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.02, 0.9]) == pytest.approx([0.04, 0.9])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert holm([]).size == 0


ATTRIBUTES = {"a": 2, "b": 5, "c": 8, "d": 12}
# Attribute c is drawn from two pools, as backgrounds are with and without a model.
POOLS = {
    name: [[f"{name}{i}" for i in range(k)]]
    + ([[f"{name}{i}" for i in range(k - 2, k + 3)]] if name == "c" else [])
    for name, k in ATTRIBUTES.items()
}


def drawn_facts(rng: np.random.Generator, picks: int = 600, bias: float = 0.0) -> pd.DataFrame:
    """Random draws of four attributes, uniform over each pool; with `bias`, that share of the
    draws from c's first pool is forced to c0."""
    columns: dict[str, list] = {"attribute": [], "drawn_from": [], "value": []}
    for attribute, pools in POOLS.items():
        for number, pool in enumerate(pools):
            n = picks // len(pools)
            values = np.array(pool)[rng.integers(0, len(pool), n)]
            if bias and attribute == "c" and number == 0:
                values[rng.random(n) < bias] = "c0"
            columns["attribute"] += [attribute] * n
            columns["drawn_from"] += [json.dumps(pool)] * n
            columns["value"] += values.tolist()
    rows = len(columns["value"])
    frame = pd.DataFrame(
        {
            **{name: pd.Categorical(values) for name, values in columns.items()},
            "category": pd.Categorical(["bags"] * rows),
            "strategy": pd.Categorical(["unique"] * rows),
            "source": pd.Categorical(["random"] * rows),
            "run_id": pd.Categorical([f"run-{i % 30}" for i in range(rows)]),
        }
    )
    return frame


def test_unbiased_draws_are_flagged_no_more_often_than_alpha_over_many_seeds():
    seeds = 200
    any_flag = 0
    raw_p = []
    for seed in range(seeds):
        result = value_frequencies(drawn_facts(np.random.default_rng(seed)), ALPHA)
        any_flag += bool(result.tests["flagged"].any() or (result.values["flag"] != "").any())
        raw_p.extend(result.tests["p_value"])
    # Holm bounds the chance of any flag per history by alpha: 10 of 200 expected at most;
    # allow three standard deviations of sampling noise.
    bound = ALPHA * seeds + 3 * np.sqrt(seeds * ALPHA * (1 - ALPHA))
    assert any_flag <= bound
    # Not vacuous: each single test is calibrated (its p-values are uniform under no bias),
    # so about alpha of them fall below alpha before correction.
    raw_p = np.array(raw_p)
    assert 0.03 <= (raw_p < ALPHA).mean() <= 0.07
    assert stats.kstest(raw_p, "uniform").pvalue > 0.001


def test_a_known_bias_is_flagged_every_time_and_little_else_is():
    others = 0
    for seed in range(20):
        result = value_frequencies(drawn_facts(np.random.default_rng(seed), bias=0.15), ALPHA)
        flagged = result.tests[result.tests["flagged"]]
        assert flagged["attribute"].tolist() == ["c"], seed
        flags = result.values.set_index("value")["flag"]
        assert flags["c0"] == "over", seed
        others += (flags.drop("c0") != "").any()
    # Holm bounds false flags by alpha per history: about one of these 20 may show one.
    assert others <= 3


def test_a_bias_in_real_runs_is_found_with_its_direction():
    rng = random.Random(11)
    fair = SyntheticPlan(category="bags", generation_count=20)
    biased = SyntheticPlan(category="bags", generation_count=20, bias={"material": ("velvet", 0.1)})
    docs = [synthetic_analytics(fair, rng, preset_id=f"fair-{i}") for i in range(60)]
    docs += [synthetic_analytics(biased, rng, preset_id=f"biased-{i}") for i in range(60)]
    result = value_frequencies(facts_from(docs), ALPHA)
    flagged = result.tests[result.tests["flagged"]]
    assert flagged[["attribute", "strategy"]].values.tolist() == [["material", "unique"]]
    velvet = result.values[result.values["value"] == "velvet"].iloc[0]
    assert velvet["flag"] == "over" and velvet["observed"] > velvet["expected"] * 1.3
    assert velvet["expected"] == pytest.approx(2400 / 10)  # 120 runs x 20 draws, 10 materials


def test_a_value_outside_its_pool_is_flagged():
    docs = [
        synthetic_analytics(SyntheticPlan(generation_count=10), random.Random(i)) for i in range(5)
    ]
    docs[0]["generation_results"][0]["resolved_attributes"]["type"] = "spaceship"
    docs[0]["generation_results"][0]["attribute_resolution"]["randomly_selected"]["type"] = (
        "spaceship"
    )
    result = value_frequencies(facts_from(docs), ALPHA)
    test = result.tests[result.tests["attribute"] == "type"].iloc[0]
    assert test["outside_pool"] == "spaceship" and test["flagged"]
    row = result.values[result.values["value"] == "spaceship"].iloc[0]
    assert row["flag"] == "outside pool"


def balanced_runs(count: int) -> list[dict]:
    """Real balanced runs through the resolver, over categories, counts and models."""
    docs = []
    for i in range(count):
        body = {
            "name": f"Balanced {i}",
            "category": ["bags", "mugs", "watches", "shoes"][i % 4],
            "config": {
                "sampling": "balanced",
                "use_model": i % 2 == 0,
                "generation_count": [7, 13, 24, 50][i % 4],
                "color_palette": ["#FF0000", "#00FF00", "#0000FF"],
                "color_strategy": "cycling",
            },
        }
        docs.append(real_analytics(body, run_id=f"balanced-{i}"))
    return docs


def test_balanced_runs_use_every_option_within_one_count():
    facts = facts_from(balanced_runs(12))
    result = balance(facts)
    assert result.runs == 12 and result.draws > 12 * 4
    assert result.within_one == result.draws and result.violations.empty
    # and the frequencies of balanced draws are, unsurprisingly, never flagged
    assert not value_frequencies(facts, ALPHA).tests["flagged"].any()

    # A run whose counts drift: one generation's type moved onto a value already used.
    docs = balanced_runs(1)
    generations = docs[0]["generation_results"]
    used = generations[0]["attribute_resolution"]["randomly_selected"]["type"]
    for generation in generations[1:3]:
        generation["resolved_attributes"]["type"] = used
        generation["attribute_resolution"]["randomly_selected"]["type"] = used
    drifted = balance(facts_from(docs))
    assert drifted.violations[["run_id", "attribute"]].values.tolist() == [["balanced-0", "type"]]
    assert drifted.violations["spread"].iloc[0] >= 2


def test_uniqueness_tells_repeats_from_a_space_too_small():
    rng = random.Random(5)
    docs = [
        synthetic_analytics(SyntheticPlan(generation_count=30), rng, run_id=f"r{i}")
        for i in range(4)
    ]
    # Everything fixed but size (5 options), no model, no background draw: 8 generations.
    small = SyntheticPlan(
        category="bags",
        generation_count=8,
        use_model=False,
        fixed={
            "type": "backpack",
            "material": "leather",
            "style": "classic",
            "closure": "zip",
            "hardware": "gold",
            "background": "on a wooden table",
        },
    )
    docs.append(synthetic_analytics(small, rng, run_id="small"))
    repeated = synthetic_analytics(SyntheticPlan(generation_count=10), rng, run_id="repeated")
    first = repeated["generation_results"][0]
    second = repeated["generation_results"][1]
    second["resolved_attributes"] = dict(first["resolved_attributes"])
    second["attribute_resolution"] = json.loads(json.dumps(first["attribute_resolution"]))
    docs.append(repeated)
    result = uniqueness(facts_from(docs))
    bags = result.summary.set_index("category").loc["bags"]
    assert (bags["runs"], bags["all_distinct"], bags["space_too_small"]) == (6, 4, 1)
    assert bags["unexpected_repeats"] == 1
    assert result.repeats["run_id"].tolist() == ["repeated"]
    assert result.repeats["distinct"].tolist() == [9]


def test_each_preset_counts_once_for_fixed_or_random():
    rng = random.Random(2)
    plans = {
        "p1": SyntheticPlan(fixed={"material": "leather"}),
        "p2": SyntheticPlan(fixed={"material": "canvas"}),
        "p3": SyntheticPlan(),
    }
    docs = [
        synthetic_analytics(plan, rng, preset_id=preset)
        for preset, plan in plans.items()
        for _ in range(3)
    ]
    table = fixed_or_random(facts_from(docs)).set_index(["category", "attribute"])
    material = table.loc[("bags", "material")]
    assert (material["presets"], material["fixed"], material["random"]) == (3, 2, 1)
    assert table.loc[("bags", "type"), "share_random"] == 1.0
    assert ("bags", "use_model") not in table.index  # a setting, not an attribute


def test_colours_are_tested_per_strategy_and_cycling_is_checked_exactly():
    rng = random.Random(9)
    fair = [
        synthetic_analytics(SyntheticPlan(color_strategy=s, generation_count=20), rng)
        for s in ("random", "weighted", "cycling")
        for _ in range(20)
    ]
    result = colour_distribution(facts_from(fair), ALPHA).strategies.set_index("strategy")
    assert not result["flagged"].any()
    assert result.loc["cycling", "mismatches"] == 0
    assert result.loc["random", "picks"] == 400

    weighted = SyntheticPlan(
        color_strategy="weighted", palette=["#FF0000", "#000000"], color_weights=[3, 1]
    )
    skewed = [synthetic_analytics(weighted, rng) for _ in range(20)]
    for doc in skewed:  # a bug that ignores the weights: every colour equally often
        for i, generation in enumerate(doc["generation_results"]):
            colour = ["#FF0000", "#000000"][i % 2]
            generation["resolved_attributes"]["color"] = colour
            generation["attribute_resolution"]["randomly_selected"]["color"] = colour
    tampered = fair[-1]
    tampered["generation_results"][0]["resolved_attributes"]["color"] = "#FFFFFF"
    tampered["generation_results"][0]["attribute_resolution"]["randomly_selected"]["color"] = (
        "#FFFFFF"
    )
    result = colour_distribution(facts_from(fair + skewed), ALPHA).strategies.set_index("strategy")
    assert result.loc["weighted", "flagged"] and not result.loc["random", "flagged"]
    assert result.loc["cycling", "mismatches"] == 1 and result.loc["cycling", "flagged"]


def test_a_value_providers_refuse_is_flagged_and_preset_level_failures_are_not():
    rng = random.Random(4)
    # Preset A fails a lot whatever it draws, and is the only one with palette X; preset B
    # rarely fails. Comparing colours across presets would blame palette X's colours.
    shaky = SyntheticPlan(palette=["#111111", "#222222"], failure_rate=0.3)
    steady = SyntheticPlan(palette=["#AAAAAA", "#BBBBBB"], failure_rate=0.02)
    refused = SyntheticPlan(failing_values={("style", "luxury"): 0.6}, failure_rate=0.02)
    docs = [synthetic_analytics(shaky, rng, preset_id="A") for _ in range(40)]
    docs += [synthetic_analytics(steady, rng, preset_id="B") for _ in range(40)]
    docs += [synthetic_analytics(refused, rng, preset_id="C") for _ in range(40)]
    result = failure_rates(facts_from(docs), ALPHA)
    values = result.values.set_index(["attribute", "value"])
    assert values.loc[("style", "luxury"), "flag"] == "higher"
    assert values.loc[("style", "luxury"), "rate"] > 0.3
    assert "safety" in values.loc[("style", "luxury"), "top_reason"]
    # Palette X's colours fail far more often overall, yet not because of their colour.
    colours = values.xs("color", level="attribute")
    assert colours.loc["#111111", "all_rate"] > 4 * colours.loc["#AAAAAA", "all_rate"]
    assert (colours["flag"] == "").all()
    assert result.tests.set_index("attribute").loc["style", "flagged"]
    assert not result.tests.set_index("attribute").loc["color", "flagged"]


def test_provider_numbers_are_per_generation_and_leave_cancelled_ones_out():
    document = real_analytics()
    results = document["generation_results"]
    latencies = [1.0, 2.0, 3.0, 4.0]
    for generation, latency in zip(results, latencies, strict=False):
        generation.update(provider="replicate", model="flux", latency_s=latency, attempts=2)
    results[4].update(
        provider=None, model=None, outcome="failed", status="failed", latency_s=None, attempts=3
    )
    results[5].update(provider=None, model=None, outcome="not_generated", status="failed")
    table = provider_performance(facts_from([document])).table.set_index("provider")
    replicate = table.loc["replicate"]
    assert (replicate["generations"], replicate["succeeded"]) == (4, 4)
    assert replicate["latency_p50_s"] == pytest.approx(np.quantile(latencies, 0.5))
    assert replicate["latency_p95_s"] == pytest.approx(np.quantile(latencies, 0.95))
    assert replicate["attempts_mean"] == 2
    none = table.loc[NO_PROVIDER]
    assert (none["generations"], none["failed"], none["success_rate"]) == (1, 1, 0.0)


def test_replays_of_a_preset_seed_count_once():
    plan = SyntheticPlan(seed=1234, generation_count=10)
    docs = [synthetic_analytics(plan, random.Random(i), preset_id="P") for i in range(3)]
    first = [g["resolved_attributes"]["type"] for g in docs[0]["generation_results"]]
    assert first == [g["resolved_attributes"]["type"] for g in docs[2]["generation_results"]]
    facts = facts_from(docs)
    kept, dropped = drop_replays(facts)
    assert dropped == 2 and kept["run_id"].nunique() == 1
    report = build_report(facts)
    assert report.replays_dropped == 2
    tests = report.frequencies.tests.set_index("attribute")
    assert tests.loc["type", "picks"] == 10

"""The resolution engine: user values kept, randoms resolved uniquely, results reproducible."""

import json
import os
import subprocess
import sys
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from bulkgen_pipeline.domain.colors import ColorMapper
from bulkgen_pipeline.domain.mappers import AttributeResolver, BackgroundMapper, ModelMapper
from bulkgen_pipeline.domain.presets import RANDOM, parse_preset
from bulkgen_pipeline.domain.resolution import resolve_preset
from bulkgen_pipeline.domain.schema import MODEL_ATTRIBUTE_NAMES, load_category_schema

SCHEMA = load_category_schema()


def bag_preset(**config):
    base = {
        "type": RANDOM,
        "material": "leather",
        "size": RANDOM,
        "use_model": True,
        "model_attributes": {"model_sex": "Female", "model_age": RANDOM, "model_ethnicity": RANDOM},
        "background": RANDOM,
        "color_palette": ["#FF0000", "#000000"],
        "generation_count": 5,
    }
    base.update(config)
    return parse_preset({"name": "Professional Bags", "category": "bags", "config": base}, SCHEMA)


def random_part(generation):
    return tuple(
        sorted(
            (k, v)
            for k, v in generation.attribute_resolution["randomly_selected"].items()
            if k != "color"
        )
    )


def test_enhanced_return_structure_matches_the_seed():
    result = resolve_preset(bag_preset(), run_seed="run-1", schema=SCHEMA)
    first = result.generations[0]
    resolution = first.attribute_resolution
    assert set(resolution) == {
        "randomly_selected",
        "user_specified",
        "total_random_count",
        "total_user_specified_count",
    }
    assert resolution["user_specified"]["material"] == "leather"
    assert resolution["user_specified"]["model_sex"] == "Female"
    assert resolution["user_specified"]["use_model"] is True
    assert resolution["user_specified"]["color_palette"] == ["#FF0000", "#000000"]
    assert resolution["user_specified"]["generation_count"] == 5
    assert {"type", "size", "model_age", "model_ethnicity", "background", "color"} <= set(
        resolution["randomly_selected"]
    )
    assert resolution["total_random_count"] == len(resolution["randomly_selected"])
    assert resolution["total_user_specified_count"] == len(resolution["user_specified"])
    assert first.config["material"] == "leather" and first.config["model_sex"] == "Female"
    assert first.generation == 1 and first.prompt


def test_random_combinations_are_unique_across_the_run():
    result = resolve_preset(bag_preset(generation_count=50), run_seed="run-1", schema=SCHEMA)
    assert len({random_part(g) for g in result.generations}) == 50
    assert len({g.prompt for g in result.generations}) == 50
    assert not result.space_exhausted


def test_a_space_smaller_than_the_count_still_runs_and_says_so():
    options = SCHEMA.attributes("bags")
    fixed = {name: values[0] for name, values in options.items() if name != "size"}
    preset = bag_preset(
        use_model=False,
        background=SCHEMA.backgrounds("bags", use_model=False)[0],
        generation_count=10,
        **fixed,
    )
    result = resolve_preset(preset, run_seed="small", schema=SCHEMA)
    assert len(result.generations) == 10
    assert result.combination_space == len(options["size"])
    assert result.distinct_combinations == len(options["size"])
    assert result.space_exhausted and "repeat" in result.notes[0]
    # Every size is used before any repeats.
    first_round = [g.config["size"] for g in result.generations[: len(options["size"])]]
    assert sorted(first_round) == sorted(options["size"])


def test_use_model_false_removes_model_attributes_and_uses_product_only_backgrounds():
    result = resolve_preset(
        bag_preset(use_model=False, generation_count=20), run_seed="r", schema=SCHEMA
    )
    product_only = set(SCHEMA.backgrounds("bags", use_model=False))
    for generation in result.generations:
        assert not set(MODEL_ATTRIBUTE_NAMES) & set(generation.config)
        assert generation.config["background"] in product_only
        assert not set(MODEL_ATTRIBUTE_NAMES) & set(
            generation.attribute_resolution["randomly_selected"]
        )


def test_fixed_background_is_used_for_every_generation():
    chosen = SCHEMA.backgrounds("bags", use_model=True)[-1]
    result = resolve_preset(
        bag_preset(background=chosen, generation_count=8), run_seed="r", schema=SCHEMA
    )
    assert {g.config["background"] for g in result.generations} == {chosen}
    assert result.generations[0].attribute_resolution["user_specified"]["background"] == chosen


def test_same_seed_same_generations_and_preset_seed_beats_run_id():
    a = resolve_preset(bag_preset(), run_seed="run-1", schema=SCHEMA)
    b = resolve_preset(bag_preset(), run_seed="run-1", schema=SCHEMA)
    c = resolve_preset(bag_preset(), run_seed="run-2", schema=SCHEMA)
    assert [g.to_dict() for g in a.generations] == [g.to_dict() for g in b.generations]
    assert [g.prompt for g in a.generations] != [g.prompt for g in c.generations]
    seeded_1 = resolve_preset(bag_preset(seed=7), run_seed="run-1", schema=SCHEMA)
    seeded_2 = resolve_preset(bag_preset(seed=7), run_seed="run-2", schema=SCHEMA)
    assert [g.to_dict() for g in seeded_1.generations] == [
        g.to_dict() for g in seeded_2.generations
    ]


def test_resolution_is_identical_in_another_process_with_another_hash_seed():
    script = (
        "import json;from bulkgen_pipeline.domain.requests import preset_request as p;"
        "r=p({'name':'x','category':'bags','config':{'use_model':True,'generation_count':6}})"
        ".resolve(run_seed='cross');print(json.dumps([g.to_dict() for g in r.generations]))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        ).stdout
        for hash_seed in ("1", "999")
    }
    assert len(outputs) == 1
    assert len(json.loads(outputs.pop())) == 6


def test_balanced_sampling_spreads_values_evenly():
    result = resolve_preset(
        bag_preset(sampling="balanced", generation_count=24), run_seed="b", schema=SCHEMA
    )
    for attribute in ("type", "size", "model_age", "model_ethnicity", "background"):
        counts = Counter(g.config[attribute] for g in result.generations)
        pool = (
            SCHEMA.attributes("bags").get(attribute)
            or SCHEMA.model_attributes().get(attribute)
            or SCHEMA.backgrounds("bags", use_model=True)
        )
        per_value = [counts.get(v, 0) for v in pool]
        assert max(per_value) - min(per_value) <= 1, (attribute, per_value)
    assert len({random_part(g) for g in result.generations}) == 24


def test_largest_category_resolves_fifty_unique_generations():
    largest = max(SCHEMA.categories, key=lambda c: len(SCHEMA.attributes(c)))
    preset = parse_preset(
        {"name": "big", "category": largest, "config": {"use_model": True, "generation_count": 50}},
        SCHEMA,
    )
    result = resolve_preset(preset, run_seed="big", schema=SCHEMA)
    assert result.distinct_combinations == 50
    assert result.combination_space > 10_000


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_user_values_are_never_changed(data):
    category = data.draw(st.sampled_from(SCHEMA.categories))
    use_model = data.draw(st.booleans())
    config = {"use_model": use_model, "generation_count": data.draw(st.integers(1, 50))}
    fixed = {}
    for name, options in SCHEMA.attributes(category).items():
        if data.draw(st.booleans()):
            fixed[name] = config[name] = data.draw(st.sampled_from(options))
    if use_model:
        config["model_attributes"] = {}
        for name, options in SCHEMA.model_attributes().items():
            if data.draw(st.booleans()):
                fixed[name] = config["model_attributes"][name] = data.draw(st.sampled_from(options))
    preset = parse_preset({"name": "p", "category": category, "config": config}, SCHEMA)
    result = resolve_preset(preset, run_seed=data.draw(st.text(max_size=8)), schema=SCHEMA)
    for generation in result.generations:
        for name, value in fixed.items():
            assert generation.config[name] == value
            assert generation.attribute_resolution["user_specified"][name] == value
            assert name not in generation.attribute_resolution["randomly_selected"]
        for name in generation.attribute_resolution["randomly_selected"]:
            assert name not in fixed
    assert result.distinct_combinations == min(len(result.generations), result.combination_space)


def test_color_mapper_strategies():
    palette = ["#FF0000", "#00FF00", "#0000FF"]
    from bulkgen_pipeline.domain.sampling import seeded_rng

    assert ColorMapper("cycling").distribute_colors(palette, 5) == [
        "#FF0000",
        "#00FF00",
        "#0000FF",
        "#FF0000",
        "#00FF00",
    ]
    drawn = ColorMapper("random").distribute_colors(palette, 300, seeded_rng(1, "c"))
    assert set(drawn) == set(palette)
    weighted = ColorMapper("weighted").distribute_colors(
        palette, 3000, seeded_rng(1, "c"), [8, 1, 1]
    )
    share = Counter(weighted)["#FF0000"] / 3000
    assert 0.75 < share < 0.85
    by_repetition = ColorMapper("weighted").distribute_colors(
        ["#111111", "#111111", "#111111", "#222222"], 4000, seeded_rng(2, "c")
    )
    assert 0.70 < Counter(by_repetition)["#111111"] / 4000 < 0.80
    assert ColorMapper("cycling").distribute_colors([], 3) == [None, None, None]


def test_one_colour_palette_is_user_specified_not_random():
    result = resolve_preset(bag_preset(color_palette=["#123456"]), run_seed="c", schema=SCHEMA)
    for generation in result.generations:
        assert generation.config["color"] == "#123456"
        assert "color" not in generation.attribute_resolution["randomly_selected"]


def test_each_mapper_resolves_on_its_own_like_the_seed_api():
    resolver = AttributeResolver("bags", SCHEMA)
    rows = resolver.resolve_attributes(
        {"type": RANDOM, "material": "leather", "size": RANDOM}, generation_count=5
    )
    assert all(r["material"] == "leather" for r in rows)
    assert len({(r["type"], r["size"], r.get("style")) for r in rows}) == 5
    models = ModelMapper(SCHEMA).generate_model_combinations(
        {
            "use_model": True,
            "model_attributes": {
                "model_sex": "Female",
                "model_age": RANDOM,
                "model_ethnicity": RANDOM,
            },
        },
        5,
    )
    assert (
        all(m["model_sex"] == "Female" for m in models)
        and len({tuple(m.items()) for m in models}) == 5
    )
    assert ModelMapper(SCHEMA).generate_model_combinations({"use_model": False}, 3) == [{}, {}, {}]
    backgrounds = BackgroundMapper("bags", SCHEMA).generate_background_combinations(False, 3)
    assert set(backgrounds) <= set(SCHEMA.backgrounds("bags", use_model=False))

"""Preset validation: both shapes accepted, every bad field named with what is allowed."""

import pytest

from bulkgen_pipeline.domain.errors import PresetValidationError
from bulkgen_pipeline.domain.presets import RANDOM, parse_preset
from bulkgen_pipeline.domain.requests import preset_request
from bulkgen_pipeline.domain.schema import load_category_schema

SCHEMA = load_category_schema()


def canonical(**config):
    base = {
        "type": RANDOM,
        "material": "leather",
        "size": RANDOM,
        "use_model": True,
        "model_attributes": {"model_sex": "Female", "model_age": RANDOM, "model_ethnicity": RANDOM},
        "background": RANDOM,
        "color_palette": ["#FF0000", "#000000"],
        "color_strategy": "cycling",
        "generation_count": 5,
        "dimensions": {"width": 1024, "height": 1024},
        "seed": 42,
    }
    base.update(config)
    return {"name": "Professional Bags", "category": "bags", "config": base}


def problems_of(data):
    with pytest.raises(PresetValidationError) as info:
        parse_preset(data, SCHEMA)
    return {p.field: p for p in info.value.problems}


def test_flattened_seed_form_equals_canonical_form():
    flat = {
        "name": "Professional Bags",
        "category": "bags",
        "type": RANDOM,
        "material": "leather",
        "size": RANDOM,
        "use_model": True,
        "model_sex": "Female",
        "model_age": RANDOM,
        "model_ethnicity": RANDOM,
        "background": RANDOM,
        "color_palette": ["#FF0000", "#000000"],
        "color_strategy": "cycling",
        "generation_count": 5,
        "dimensions": {"width": 1024, "height": 1024},
        "seed": 42,
    }
    assert parse_preset(flat, SCHEMA).canonical() == parse_preset(canonical(), SCHEMA).canonical()


def test_the_canonical_form_keeps_the_size_in_the_form_it_was_given_without_nulls():
    def size(dimensions):
        return parse_preset(canonical(dimensions=dimensions), SCHEMA).canonical()["config"][
            "dimensions"
        ]

    assert size({"width": 768, "height": 1024}) == {"width": 768, "height": 1024}
    assert size({"width": 768, "height": 1024, "aspect_ratio": None}) == {
        "width": 768,
        "height": 1024,
    }
    assert size({"aspect_ratio": "4:5"}) == {"aspect_ratio": "4:5"}
    assert size({"width": None, "height": None, "aspect_ratio": "1:1"}) == {"aspect_ratio": "1:1"}


def test_values_are_matched_case_insensitively_and_stored_in_schema_spelling():
    preset = parse_preset(
        canonical(material="LEATHER", model_attributes={"model_sex": "female"}), SCHEMA
    )
    assert preset.config.attributes["material"] == "leather"
    assert preset.config.model_attributes.model_sex == "Female"


def test_blank_and_null_mean_random():
    preset = parse_preset(canonical(size="", type=None, background="  "), SCHEMA)
    assert preset.config.attributes["size"] == RANDOM
    assert preset.config.attributes["type"] == RANDOM
    assert preset.config.background == RANDOM


def test_unknown_attribute_is_named_with_the_allowed_attributes():
    problems = problems_of(canonical(handle_length="long"))
    assert "config.handle_length" in problems
    assert set(problems["config.handle_length"].allowed) == set(SCHEMA.attributes("bags"))


def test_value_not_in_schema_is_named_with_allowed_values():
    problems = problems_of(canonical(material="unobtainium"))
    assert problems["config.material"].allowed == SCHEMA.attributes("bags")["material"]
    assert "unobtainium" in problems["config.material"].message


def test_model_value_not_in_pool_is_named():
    problems = problems_of(canonical(model_attributes={"model_age": "Young adults"}))
    problem = problems["config.model_attributes.model_age"]
    assert "Young adult" in problem.allowed


def test_background_must_come_from_the_pool_matching_use_model():
    human = SCHEMA.backgrounds("bags", use_model=True)[0]
    problems = problems_of(canonical(use_model=False, background=human))
    assert problems["config.background"].allowed == SCHEMA.backgrounds("bags", use_model=False)


def test_all_schema_problems_are_reported_together():
    problems = problems_of(canonical(material="x", size="y", bogus="z"))
    assert {"config.material", "config.size", "config.bogus"} <= set(problems)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"generation_count": 0}, "config.generation_count"),
        ({"generation_count": 51}, "config.generation_count"),
        ({"color_palette": ["#GG0000"]}, "config.color_palette"),
        ({"color_palette": ["red"]}, "config.color_palette"),
        ({"color_strategy": "rainbow"}, "config.color_strategy"),
        ({"dimensions": {"width": 1024}}, "config.dimensions"),
        (
            {"dimensions": {"width": 1024, "height": 1024, "aspect_ratio": "1:1"}},
            "config.dimensions",
        ),
        ({"dimensions": {"aspect_ratio": "7:3"}}, "config.dimensions.aspect_ratio"),
        ({"dimensions": {"width": 64, "height": 1024}}, "config.dimensions.width"),
        ({"color_palette": ["#FF0000"], "color_weights": [1, 2]}, "config"),
        ({"color_palette": ["#FF0000"], "color_weights": [0]}, "config.color_weights"),
    ],
)
def test_structural_problems_name_the_field(config, field):
    problems = problems_of(canonical(**config))
    assert field in problems, problems


def test_unknown_category_lists_the_categories():
    data = canonical()
    data["category"] = "spaceships"
    problems = problems_of(data)
    assert problems["category"].allowed == SCHEMA.categories


def test_hex_colours_are_normalised():
    preset = parse_preset(canonical(color_palette=["#f00", "00ff00"]), SCHEMA)
    assert preset.config.color_palette == ["#FF0000", "#00FF00"]


def test_use_model_false_drops_model_attributes():
    preset = parse_preset(
        canonical(use_model=False, model_attributes={"model_sex": "Alien"}), SCHEMA
    )
    assert preset.config.model_attributes.model_sex == RANDOM


def test_count_override_is_range_checked():
    with pytest.raises(PresetValidationError) as info:
        preset_request(canonical(), generation_count=80, schema=SCHEMA)
    assert info.value.problems[0].field == "generation_count"
    assert preset_request(canonical(), generation_count=12, schema=SCHEMA).generation_count == 12


def test_category_spelling_with_hyphen_or_capitals_maps_to_the_schema_key():
    data = {"name": "Tees", "category": "T-Shirts", "config": {"generation_count": 2}}
    assert parse_preset(data, SCHEMA).category == "t_shirts"

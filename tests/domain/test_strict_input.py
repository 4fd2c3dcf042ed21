"""Strict input: counts and booleans of their own JSON type, no NaN, printable names, one clear
error per broken document, every problem reported at once (capped)."""

from __future__ import annotations

import json

import pytest

from bulkgen_pipeline.domain.errors import MAX_REPORTED_PROBLEMS, PresetValidationError
from bulkgen_pipeline.domain.json_input import (
    MAX_DOCUMENT_BYTES,
    MAX_NESTING_DEPTH,
    load_json_document,
)
from bulkgen_pipeline.domain.presets import parse_preset
from bulkgen_pipeline.domain.requests import batch_request, preset_request
from bulkgen_pipeline.domain.schema import load_category_schema

SCHEMA = load_category_schema()


def preset(**config):
    return {"name": "Bags", "category": "bags", "config": {"material": "leather", **config}}


def problems_of(call, *args, **kwargs):
    with pytest.raises(PresetValidationError) as info:
        call(*args, **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"generation_count": True}, "config.generation_count"),
        ({"generation_count": "5"}, "config.generation_count"),
        ({"generation_count": 5.0}, "config.generation_count"),
        ({"use_model": "false"}, "config.use_model"),
        ({"use_model": 0}, "config.use_model"),
        ({"seed": "42"}, "config.seed"),
        ({"seed": 4.2}, "config.seed"),
        ({"dimensions": {"width": 1024.0, "height": 1024}}, "config.dimensions.width"),
        ({"color_palette": ["#FF0000", "#000000"], "color_weights": [True, 1]}, None),
    ],
)
def test_counts_seeds_and_booleans_accept_only_their_json_type(config, field):
    error = problems_of(parse_preset, preset(**config), SCHEMA)
    fields = {p.field for p in error.problems}
    assert (field in fields) if field else any(f.startswith("config.color_weights") for f in fields)
    # The refused value is shown as JSON, so `true` and `"5"` read as what they are.
    problem = next(p for p in error.problems if field is None or p.field == field)
    assert "(got " in problem.message


def test_well_typed_values_still_pass():
    parsed = parse_preset(
        preset(
            generation_count=7,
            use_model=False,
            seed=3,
            color_palette=["#FF0000", "#000000"],
            color_weights=[1, 2.5],
        ),
        SCHEMA,
    )
    assert (parsed.config.generation_count, parsed.config.seed) == (7, 3)
    assert parsed.config.color_weights == [1.0, 2.5]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused_in_a_parsed_dict(bad):
    error = problems_of(
        parse_preset, preset(color_palette=["#FF0000", "#000000"], color_weights=[bad, 1]), SCHEMA
    )
    assert [p.field for p in error.problems] == ["config.color_weights.0"]
    assert "finite" in error.problems[0].message


def test_batch_counts_and_seeds_are_strict():
    error = problems_of(
        batch_request,
        {
            "variations": {"prompt": {"text": "a mug", "seed": True}, "count": "3"},
        },
    )
    assert {"variations.prompt.seed", "variations.count"} <= {p.field for p in error.problems}
    error = problems_of(batch_request, {"variations": {"prompt": {"text": "m"}, "seeds": [1.0]}})
    assert "variations.seeds.0" in {p.field for p in error.problems}


def test_count_override_must_be_an_integer_and_is_reported_with_the_rest():
    error = problems_of(preset_request, preset(material="unobtainium"), generation_count=True)
    assert {"generation_count", "config.material"} <= {p.field for p in error.problems}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("x" * 201, "at most 200"),
        ("Bags\x00", "U+0000"),
        ("Bags\nline", "U+000A"),
        ("Bags\x1b[31m", "U+001B"),
    ],
)
def test_names_are_1_to_200_printable_characters(name, reason):
    data = preset()
    data["name"] = name
    error = problems_of(parse_preset, data, SCHEMA)
    problem = {p.field: p for p in error.problems}["name"]
    assert reason in problem.message
    batch_error = problems_of(batch_request, {"name": name, "prompts": [{"text": "a"}]})
    assert reason in {p.field: p for p in batch_error.problems}["name"].message


def test_a_200_character_unicode_name_is_accepted_and_trimmed():
    data = preset()
    data["name"] = "  " + "Ä" * 199 + "ß  "
    assert parse_preset(data, SCHEMA).name == "Ä" * 199 + "ß"


def test_nul_in_a_prompt_is_refused():
    error = problems_of(batch_request, {"prompts": [{"text": "a\x00b"}]})
    assert error.problems[0].field == "prompts.0.text"


def test_type_and_schema_problems_come_back_together():
    data = preset(generation_count="5", size="gigantic", bogus=1)
    data["config"]["use_model"] = False
    error = problems_of(parse_preset, data, SCHEMA)
    fields = {p.field for p in error.problems}
    assert {"config.generation_count", "config.size", "config.bogus"} <= fields


def test_a_refused_type_is_not_reported_twice():
    error = problems_of(parse_preset, preset(background=5), SCHEMA)
    assert [p.field for p in error.problems].count("config.background") == 1


def test_problems_are_capped_with_a_count_of_the_rest():
    data = preset(**{f"unknown_{i}": "x" for i in range(60_000)})
    error = problems_of(parse_preset, data, SCHEMA)
    assert len(error.problems) == MAX_REPORTED_PROBLEMS
    assert error.omitted == 60_000 - MAX_REPORTED_PROBLEMS
    report = error.report()
    assert report["more_problems"] == 60_000 - MAX_REPORTED_PROBLEMS
    assert len(json.dumps(report)) < 50_000  # was 14 MB


# --- the JSON document loader -------------------------------------------------------------


def document_problem(raw) -> str:
    error = problems_of(load_json_document, raw, what="preset file p.json")
    assert len(error.problems) == 1
    assert error.problems[0].field == "(document)"
    return error.problems[0].message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a": NaN}', "NaN is not a number JSON allows"),
        (b'{"a": [Infinity]}', "Infinity is not a number JSON allows"),
        (b'{"a": -Infinity}', "-Infinity is not a number JSON allows"),
        (b'{"a": 1e400}', "1e400 is too large"),
        (b'{"a": \xff}', "not valid UTF-8: byte 0xff at offset 6"),
        (b'{"a": "\xc3"}', "not valid UTF-8"),
        (b'{"a": }', "not valid JSON: Expecting value at line 1, column 7"),
        (b"[" + b"9" * 5000 + b"]", "not valid JSON"),
    ],
)
def test_broken_documents_get_one_clear_error(raw, expected):
    message = document_problem(raw)
    assert message.startswith("preset file p.json")
    assert expected in message


@pytest.mark.parametrize(
    ("raw", "field", "expected"),
    [
        (b'{"a": "x\\u0000y"}', "a", "NUL character (\\u0000) in the string 'x\\\\u0000y'"),
        (b'{"a\\u0000": 1}', "a\\u0000", "NUL character"),
        (b'{"a": [1, {"b": "\\u0000"}]}', "a.1.b", "NUL character"),
        (b'"\\u0000"', "(document)", "NUL character"),
        (b'{"count": 80, "count": 1}', "count", "gives the key 'count' more than once"),
        (b'{"a": {"b": 1, "c": 2, "b": 1}}', "a.b", "more than once"),
        (b'{"a": [{}, {"x": 1, "x": 1}]}', "a.1.x", "more than once"),
    ],
)
def test_a_nul_character_or_a_key_given_twice_is_refused_naming_the_field(raw, field, expected):
    error = problems_of(load_json_document, raw, what="preset file p.json")
    assert [p.field for p in error.problems] == [field]
    assert error.problems[0].message.startswith("preset file p.json")
    assert expected in error.problems[0].message


def test_nesting_is_limited_to_32_levels():
    deepest_allowed = "[" * MAX_NESTING_DEPTH + "]" * MAX_NESTING_DEPTH
    assert load_json_document(deepest_allowed.encode(), what="x") is not None
    one_more = '{"a": ' * (MAX_NESTING_DEPTH + 1) + "1" + "}" * (MAX_NESTING_DEPTH + 1)
    assert "nested deeper than 32 levels" in document_problem(one_more.encode())
    # Far past the interpreter's recursion limit: still one clear error, not a RecursionError.
    abyss = "[" * 200_000 + "]" * 200_000
    assert "nested deeper than 32 levels" in document_problem(abyss.encode())


def test_documents_over_1_mib_are_refused_before_parsing():
    big = json.dumps({"name": "x" * MAX_DOCUMENT_BYTES}).encode()
    assert f"the limit is {MAX_DOCUMENT_BYTES} bytes" in document_problem(big)


def test_a_good_document_with_a_bom_and_unicode_loads():
    raw = "\ufeff" + json.dumps({"name": "Taschen ä", "n": [1, 2.5, True, None]})
    assert load_json_document(raw.encode("utf-8"), what="x") == {
        "name": "Taschen ä",
        "n": [1, 2.5, True, None],
    }

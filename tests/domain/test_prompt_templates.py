"""Prompt template file: validation names the category and slot; edits need no code."""

import copy
import json
import os

import pytest

from bulkgen_pipeline.domain.grammar import grammar_problems
from bulkgen_pipeline.domain.prompts import (
    DEFAULT_TEMPLATES_PATH,
    PromptTemplateError,
    build_prompt,
    load_prompt_templates,
    parse_pattern,
)
from bulkgen_pipeline.domain.schema import DEFAULT_SCHEMA_PATH, load_category_schema

SHIPPED = json.loads(DEFAULT_TEMPLATES_PATH.read_text(encoding="utf-8"))
SCHEMA = load_category_schema()


def templates_with(tmp_path, change):
    document = copy.deepcopy(SHIPPED)
    change(document)
    path = tmp_path / "prompt_templates.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def load_error(tmp_path, change) -> PromptTemplateError:
    path = templates_with(tmp_path, change)
    with pytest.raises(PromptTemplateError) as caught:
        load_prompt_templates(path, schema=SCHEMA)
    return caught.value


def test_unknown_attribute_in_product_names_category_and_slot(tmp_path):
    def change(doc):
        doc["categories"]["bags"]["product"] = "{size} {colour} {style} {material} {type|bag}"

    error = load_error(tmp_path, change)
    assert (error.category, error.slot) == ("bags", "product")
    assert "'bags'" in str(error) and "'product'" in str(error) and "'colour'" in str(error)


def test_unknown_attribute_in_a_feature_names_the_feature(tmp_path):
    def change(doc):
        doc["categories"]["watches"]["features"][1] = "a/an {face} dial"

    error = load_error(tmp_path, change)
    assert (error.category, error.slot) == ("watches", "features[1]")
    assert "'face'" in str(error)


def test_attribute_of_another_category_is_unknown(tmp_path):
    def change(doc):
        doc["categories"]["mugs"]["product"] = "{size} {finish} {material} {hardware} {type|mug}"

    error = load_error(tmp_path, change)
    assert (error.category, error.slot, "'hardware'" in str(error)) == ("mugs", "product", True)


def test_unknown_slot_in_a_default_sentence_is_reported_per_category(tmp_path):
    def change(doc):
        doc["defaults"]["product_only"] = "{product} {color} {features} {backdrop}"

    error = load_error(tmp_path, change)
    assert error.slot == "product_only" and "'backdrop'" in str(error)
    assert error.category in SCHEMA.categories


@pytest.mark.parametrize(
    ("field", "value", "slot", "message"),
    [
        ("product", "{size} {style {material} bag", "product", "unclosed '{'"),
        ("product", "{size} style} bag", "product", "unmatched '}'"),
        ("product", "{size} [[{style}]] bag", "product", "cannot nest"),
        ("product", "{size} {style} {material} {type|}", "product", "empty fallback"),
        ("product", "{size} {style} {material} {type}", "product", "head noun"),
        ("product", "{size} {style} {type|bag}", "product", "'material'"),
        ("action", "carrying a {size}", "action", "plain text"),
        (
            "with_model",
            "{product} {color} {features}[, photographed {background}]",
            "with_model",
            "{model}",
        ),
        (
            "product_only",
            "{product} {features}[, photographed {background}]",
            "product_only",
            "{color}",
        ),
        (
            "product_only",
            "{product} {color} {features} held by a woman[ {background}]",
            "product_only",
            "'woman'",
        ),
        (
            "features",
            ["a/an {closure} closure with {hardware} hardware"],
            "features[0]",
            "exactly one slot",
        ),
        ("featurs", ["a/an {closure} closure"], "featurs", "unknown field"),
    ],
)
def test_broken_template_is_reported_with_its_slot(tmp_path, field, value, slot, message):
    def change(doc):
        doc["categories"]["bags"][field] = value

    error = load_error(tmp_path, change)
    assert (error.category, error.slot) == ("bags", slot)
    assert message in str(error)


def test_missing_template_for_a_schema_category(tmp_path):
    error = load_error(tmp_path, lambda doc: doc["categories"].pop("hoodies"))
    assert error.category == "hoodies"


def test_attribute_named_like_a_builtin_slot_is_refused(tmp_path):
    document = json.loads(DEFAULT_SCHEMA_PATH.read_text(encoding="utf-8"))
    document["mugs"]["product"] = ["a", "b", "c", "d", "e"]
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(PromptTemplateError) as caught:
        load_prompt_templates(schema=load_category_schema(schema_path))
    assert (caught.value.category, caught.value.slot) == ("mugs", "product")


def test_template_edit_is_picked_up_without_restart(tmp_path):
    path = templates_with(tmp_path, lambda doc: None)
    resolved = {
        "type": "backpack",
        "use_model": True,
        "model_sex": "Male",
        "model_age": "Teenager",
        "model_ethnicity": "Hispanic",
    }
    before = build_prompt("bags", resolved, schema=SCHEMA, templates_path=path)
    assert "model carrying a backpack" in before

    document = json.loads(path.read_text())
    document["categories"]["bags"]["action"] = "walking with"
    document["categories"]["bags"]["style_tail"] = "editorial photography, golden hour light"
    path.write_text(json.dumps(document), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    after = build_prompt("bags", resolved, schema=SCHEMA, templates_path=path)
    assert after == (
        "A teenager Hispanic male model walking with a backpack. "
        "Editorial photography, golden hour light."
    )
    assert grammar_problems(after, resolved, attributes=SCHEMA.attributes("bags")) == []


def test_pattern_language_renders_fallbacks_and_optional_groups():
    pattern = parse_pattern(
        "{size} {type|bag}[ with a/an {closure} closure]", category="t", slot="s"
    )
    assert pattern.render({"size": "large", "closure": "zip"}) == (
        "large bag with a/an zip closure",
        True,
    )
    assert pattern.render({"type": "tote"}) == (" tote", False)
    assert pattern.render({"size": "s", "type": "tote", "closure": "zip"})[1] is True
    assert pattern.slot_names() == {"size", "type", "closure"}

"""The shipped category schema file: its content, its validation, and data-only extension."""

import copy
import json
import math
import tomllib
from fnmatch import fnmatch
from importlib.resources import files
from pathlib import Path

import pytest

from bulkgen_pipeline.domain.grammar import MODEL_WORDS, contains_phrase, grammar_problems
from bulkgen_pipeline.domain.prompts import (
    DEFAULT_TEMPLATES_PATH,
    PromptTemplateError,
    build_prompt,
    load_prompt_templates,
)
from bulkgen_pipeline.domain.schema import (
    DEFAULT_SCHEMA_PATH,
    SCHEMA_OF_SCHEMA_PATH,
    SchemaError,
    load_category_schema,
)

SHIPPED_DOCUMENT = json.loads(DEFAULT_SCHEMA_PATH.read_text(encoding="utf-8"))
SHIPPED_TEMPLATES = json.loads(DEFAULT_TEMPLATES_PATH.read_text(encoding="utf-8"))
SCHEMA = load_category_schema()
RESERVED_NAMES = {"model_sex", "model_age", "model_ethnicity", "background", "color", "use_model"}


def write_json(path, document):
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


SHIPPED_FILES = (
    "category_metadata_schema.json",
    "category_metadata_schema.schema.json",
    "prompt_templates.json",
)
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_shipped_files_live_inside_the_package_and_are_package_data():
    """A non-editable install (the Docker/K8s run launcher's) has only what the wheel ships."""
    packaged = files("bulkgen_pipeline") / "schemas"
    for name in SHIPPED_FILES:
        assert (packaged / name).is_file(), name
    # The loaders' defaults point into the package, not at a folder beside it.
    in_package = Path(str(packaged)).resolve()
    for path in (DEFAULT_SCHEMA_PATH, SCHEMA_OF_SCHEMA_PATH, DEFAULT_TEMPLATES_PATH):
        assert path.parent == in_package, path
    package_data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]
    patterns = package_data["bulkgen_pipeline"]
    for name in SHIPPED_FILES:
        assert any(fnmatch(f"schemas/{name}", pattern) for pattern in patterns), (name, patterns)


def test_shipped_schema_has_enough_categories_each_with_realistic_attributes():
    assert len(SCHEMA.categories) >= 8
    assert {"bags", "cushions", "t_shirts"} <= set(SCHEMA.categories)
    assert "t-shirts" not in SCHEMA.categories  # one spelling only
    for category in SCHEMA.categories:
        attributes = SCHEMA.attributes(category)
        assert len(attributes) >= 4, category
        assert not set(attributes) & RESERVED_NAMES, category
        for name, options in attributes.items():
            assert 5 <= len(options) <= 12, (category, name, len(options))
            for value in options:
                assert value == value.lower() == value.strip(), (category, name, value)
                assert "  " not in value, (category, name, value)


def test_at_least_one_category_has_a_huge_product_space():
    spaces = {
        category: math.prod(len(options) for options in SCHEMA.attributes(category).values())
        for category in SCHEMA.categories
    }
    largest = max(spaces, key=spaces.__getitem__)
    assert len(SCHEMA.attributes(largest)) >= 6
    assert spaces[largest] > 100_000


def test_model_pools_use_singular_forms():
    pools = SCHEMA.model_attributes()
    assert pools["model_sex"] == ["Female", "Male"]
    assert pools["model_age"] == ["Teenager", "Young adult", "Middle aged", "Old"]
    assert 6 <= len(pools["model_ethnicity"]) <= 8
    assert len(set(pools["model_ethnicity"])) == len(pools["model_ethnicity"])


def test_every_category_has_both_background_pools_of_prepositional_phrases():
    prepositions = ("in ", "on ", "at ", "against ", "beside ", "inside ", "folded ", "laid ")
    for category in SCHEMA.categories:
        human = SCHEMA.backgrounds(category, use_model=True)
        product_only = SCHEMA.backgrounds(category, use_model=False)
        for pool in (human, product_only):
            assert 5 <= len(pool) <= 10, category
            for phrase in pool:
                assert phrase.startswith(prepositions), (category, phrase)
                assert grammar_problems(phrase) == [], (category, phrase)
        for phrase in product_only:
            assert not [w for w in MODEL_WORDS if contains_phrase(phrase, w)], (category, phrase)


def test_shipped_templates_cover_every_shipped_category():
    templates = load_prompt_templates()
    assert set(SCHEMA.categories) <= set(templates.categories)


def _set(document, path, value):
    *parents, last = path
    for key in parents:
        document = document[key]
    if value is _DELETE:
        del document[last]
    else:
        document[last] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("location", "value", "expected_path"),
    [
        (("bags", "size"), "large", "$.bags.size"),
        (("bags", "material"), [], "$.bags.material"),
        (("bags", "size"), ["large", "large"], "$.bags.size"),
        (("bags", "size"), [" large"], "$.bags.size[0]"),
        (("bags", "size"), ["large", 3], "$.bags.size[1]"),
        (("bags", "color"), ["red", "blue"], "$.bags.color"),
        (("background_mapping", "cushions"), _DELETE, "$.background_mapping.cushions"),
        (
            ("background_mapping", "bags", "no_human_backgrounds"),
            _DELETE,
            "$.background_mapping.bags",
        ),
        (
            ("background_mapping", "bags", "human_backgrounds"),
            [],
            "$.background_mapping.bags.human_backgrounds",
        ),
        (("model_attributes", "model_age"), _DELETE, "$.model_attributes"),
    ],
)
def test_invalid_document_names_the_bad_entry(tmp_path, location, value, expected_path):
    document = copy.deepcopy(SHIPPED_DOCUMENT)
    _set(document, location, value)
    path = write_json(tmp_path / "schema.json", document)
    with pytest.raises(SchemaError) as caught:
        load_category_schema(path)
    assert caught.value.path == expected_path
    assert expected_path in str(caught.value)


def test_added_option_value_is_picked_up_with_no_code_change(tmp_path):
    document = copy.deepcopy(SHIPPED_DOCUMENT)
    document["bags"]["material"].append("ostrich leather")
    schema = load_category_schema(write_json(tmp_path / "schema.json", document))
    assert "ostrich leather" in schema.attributes("bags")["material"]

    resolved = {
        "type": "satchel",
        "material": "ostrich leather",
        "size": "oversized",
        "use_model": False,
        "background": schema.backgrounds("bags", use_model=False)[0],
        "color": "#8B4513",
    }
    prompt = build_prompt("bags", resolved, schema=schema)
    assert prompt.startswith("An oversized ostrich leather satchel in brown (#8B4513)")
    assert grammar_problems(prompt, resolved, attributes=schema.attributes("bags")) == []


SCARVES_ATTRIBUTES = {
    "material": ["cashmere", "wool", "silk", "chiffon", "linen"],
    "length": ["short", "medium-length", "long", "extra-long", "oversized"],
    "pattern": ["plaid", "houndstooth", "paisley", "striped", "ombre"],
    "style": ["classic", "bohemian", "minimalist", "luxury", "vintage"],
}


def _with_scarves(tmp_path, *, with_template=True):
    document = copy.deepcopy(SHIPPED_DOCUMENT)
    document["scarves"] = SCARVES_ATTRIBUTES
    document["background_mapping"]["scarves"] = {
        "human_backgrounds": [
            "on a snowy street",
            "in a winter park",
            "at a train platform",
            "on a windswept beach",
            "in a cozy cafe",
        ],
        "no_human_backgrounds": [
            "on a white studio backdrop",
            "on a wooden table",
            "draped over a chair",
            "on a linen sheet",
            "on a slate tile",
        ],
    }
    templates = copy.deepcopy(SHIPPED_TEMPLATES)
    if with_template:
        templates["categories"]["scarves"] = {
            "product": "{length} {style} {material} scarf",
            "features": ["a/an {pattern} pattern"],
            "action": "wearing",
        }
    schema = load_category_schema(write_json(tmp_path / "schema.json", document))
    return schema, write_json(tmp_path / "templates.json", templates)


def test_new_category_needs_only_schema_and_template_data(tmp_path):
    schema, templates_path = _with_scarves(tmp_path)
    assert "scarves" in schema.categories

    product_only = {
        "material": "cashmere",
        "length": "extra-long",
        "pattern": "houndstooth",
        "style": "classic",
        "use_model": False,
        "background": "on a wooden table",
        "color": "#800020",
    }
    prompt = build_prompt("scarves", product_only, schema=schema, templates_path=templates_path)
    assert prompt.startswith(
        "An extra-long classic cashmere scarf in burgundy (#800020) with a houndstooth pattern, "
        "photographed on a wooden table."
    )
    with_model = {
        **product_only,
        "use_model": True,
        "length": None,
        "style": None,
        "model_sex": "Male",
        "model_age": "Old",
        "model_ethnicity": "South Asian",
        "background": "on a snowy street",
    }
    prompt = build_prompt("scarves", with_model, schema=schema, templates_path=templates_path)
    assert prompt.startswith("An old South Asian male model wearing a cashmere scarf")
    for resolved in (product_only, with_model):
        text = build_prompt("scarves", resolved, schema=schema, templates_path=templates_path)
        assert grammar_problems(text, resolved, attributes=SCARVES_ATTRIBUTES) == []


def test_new_category_without_a_template_is_reported_by_name(tmp_path):
    schema, templates_path = _with_scarves(tmp_path, with_template=False)
    with pytest.raises(PromptTemplateError) as caught:
        load_prompt_templates(templates_path, schema=schema)
    assert caught.value.category == "scarves"
    assert "scarves" in str(caught.value)

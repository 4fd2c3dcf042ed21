"""Prompt QA, the seed's "Mapper Testing Infrastructure": every category, many combinations.

Combinations are built deterministically from the schema (so a new option or category is
covered with no test change), then every prompt must pass `grammar_problems` with its resolved
values. Hypothesis then roams the whole schema. The checker itself is pinned in
test_grammar_checker.py.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkgen_pipeline.domain.color_names import color_name
from bulkgen_pipeline.domain.grammar import grammar_problems
from bulkgen_pipeline.domain.prompts import build_prompt
from bulkgen_pipeline.domain.schema import load_category_schema

SCHEMA = load_category_schema()
MODEL_POOLS = SCHEMA.model_attributes()
PALETTE = ["#FF0000", "#000000", "#FFFFFF", None, "#1F2A44", "#808000", "#f5f5dc", "#E1AD01"]


def _pick(options, index, stride):
    return options[(index * stride) % len(options)]


def qa_cases(category):
    """(label, resolved) pairs: product-only, with model, every option, and edge cases."""
    attributes = SCHEMA.attributes(category)
    human = SCHEMA.backgrounds(category, use_model=True)
    product_only = SCHEMA.backgrounds(category, use_model=False)

    def base(i):
        return {
            name: _pick(options, i, stride)
            for stride, (name, options) in enumerate(attributes.items(), start=1)
        }

    def model(i):
        return {
            "model_sex": _pick(MODEL_POOLS["model_sex"], i, 1),
            "model_age": _pick(MODEL_POOLS["model_age"], i, 3),
            "model_ethnicity": _pick(MODEL_POOLS["model_ethnicity"], i, 5),
        }

    cases = []
    for i in range(10):
        cases.append(
            (
                f"product-only #{i}",
                {
                    **base(i),
                    "use_model": False,
                    "background": _pick(product_only, i, 1),
                    "color": PALETTE[i % len(PALETTE)],
                    "dimensions": {"width": 1024, "height": 1024},
                },
            )
        )
    for i in range(15):
        cases.append(
            (
                f"with model #{i}",
                {
                    **base(i + 3),
                    "use_model": True,
                    **model(i),
                    "background": _pick(human, i, 1),
                    "color": PALETTE[(i + 1) % len(PALETTE)],
                    "generation_count": 15,
                },
            )
        )
    # Every option once, alone (so it sits right after the article) and in a full combination.
    for name, options in attributes.items():
        for j, value in enumerate(options):
            cases.append((f"{name}={value} alone", {name: value, "use_model": False}))
            cases.append(
                (
                    f"{name}={value} full",
                    {
                        **base(j),
                        name: value,
                        "use_model": j % 2 == 0,
                        **model(j),
                        "background": _pick(human if j % 2 == 0 else product_only, j, 1),
                        "color": PALETTE[j % len(PALETTE)],
                    },
                )
            )
    # Edge cases: each attribute null, then absent; nothing at all; model values missing.
    for name in attributes:
        cases.append(
            (
                f"{name} is None",
                {
                    **base(1),
                    name: None,
                    "use_model": True,
                    **model(2),
                    "background": human[0],
                    "color": "#FF0000",
                },
            )
        )
        without = {k: v for k, v in base(2).items() if k != name}
        cases.append(
            (
                f"{name} absent",
                {**without, "use_model": False, "background": product_only[0], "color": None},
            )
        )
    cases.append(("nothing resolved", {"use_model": False}))
    cases.append(("model only", {"use_model": True, **model(4)}))
    cases.append(
        (
            "model without age",
            {**base(5), "use_model": True, **model(5), "model_age": None, "background": None},
        )
    )
    cases.append(("colour by name", {**base(6), "use_model": False, "color": "burgundy"}))
    cases.append(
        ("use_model as string", {**base(7), "use_model": "false", "background": product_only[-1]})
    )
    return cases


@pytest.mark.parametrize("category", SCHEMA.categories)
def test_every_category_passes_prompt_qa(category):
    cases = qa_cases(category)
    assert len(cases) >= 25
    attributes = SCHEMA.attributes(category)
    failures = {}
    for label, resolved in cases:
        prompt = build_prompt(category, resolved, schema=SCHEMA)
        problems = grammar_problems(prompt, resolved, attributes=attributes)
        if problems:
            failures[label] = (prompt, problems)
    assert failures == {}


@pytest.mark.parametrize("category", SCHEMA.categories)
def test_model_description_appears_only_with_use_model(category):
    values = {name: options[0] for name, options in SCHEMA.attributes(category).items()}
    model = {"model_sex": "Male", "model_age": "Teenager", "model_ethnicity": "Black"}
    with_model = build_prompt(category, {**values, "use_model": True, **model}, schema=SCHEMA)
    without = build_prompt(category, {**values, "use_model": False, **model}, schema=SCHEMA)
    assert with_model.startswith("A teenager Black male model ")
    assert "model" not in without.lower() and "teenager" not in without.lower()


def test_reference_prompts_read_naturally():
    bag = {
        "type": "tote bag",
        "material": "leather",
        "size": "large",
        "style": "minimalist",
        "closure": "zip",
        "hardware": "gold",
        "use_model": True,
        "model_sex": "Female",
        "model_age": "Young adult",
        "model_ethnicity": "East Asian",
        "background": "in a modern office",
        "color": "#000000",
    }
    assert build_prompt("bags", bag, schema=SCHEMA) == (
        "A young adult East Asian female model carrying a large minimalist leather tote bag in "
        "black (#000000) with a zip closure and gold hardware, photographed in a modern office. "
        "Professional product photography, soft studio lighting, sharp focus on stitching and "
        "texture."
    )
    shoes = {
        "type": "high-top",
        "material": "suede",
        "sole": "gum rubber",
        "style": None,
        "use_model": False,
        "background": "on a concrete plinth",
        "color": None,
    }
    assert build_prompt("shoes", shoes, schema=SCHEMA).startswith(
        "A pair of suede high-top shoes with a gum rubber sole, photographed on a concrete plinth."
    )
    ring = {"type": "ring", "style": "art deco", "gemstone": "emerald", "use_model": False}
    assert build_prompt("jewelry", ring, schema=SCHEMA).startswith(
        "An art deco ring with an emerald accent."
    )


def test_user_values_that_repeat_a_neighbouring_word_are_not_doubled():
    resolved = {"material": "leather", "type": "leather satchel", "use_model": False}
    prompt = build_prompt("bags", resolved, schema=SCHEMA)
    assert prompt.startswith("A leather satchel.")
    assert grammar_problems(prompt, resolved, attributes=SCHEMA.attributes("bags")) == []


def test_unresolved_random_value_is_refused():
    with pytest.raises(ValueError, match="size"):
        build_prompt("bags", {"size": "__RANDOM__", "use_model": False}, schema=SCHEMA)
    with pytest.raises(ValueError, match="spaceships"):
        build_prompt("spaceships", {"use_model": False}, schema=SCHEMA)


def test_colour_given_by_name_is_kept_without_a_hex():
    prompt = build_prompt(
        "mugs", {"type": "travel mug", "color": "burgundy", "use_model": False}, schema=SCHEMA
    )
    assert prompt.startswith("A travel mug in burgundy.")


# --- property tests over the whole schema ------------------------------------------------------

HEX_COLOURS = st.integers(0, 0xFFFFFF).flatmap(
    lambda n: st.sampled_from([f"#{n:06X}", f"#{n:06x}"])
)


def mostly(strategy):
    """The strategy's values two times in three, None otherwise."""
    return st.one_of(strategy, strategy, st.none())


@st.composite
def resolved_generations(draw):
    category = draw(st.sampled_from(SCHEMA.categories))
    resolved = {}
    for name, options in SCHEMA.attributes(category).items():
        choice = draw(st.sampled_from(["value", "value", "value", "none", "absent"]))
        if choice != "absent":
            resolved[name] = draw(st.sampled_from(options)) if choice == "value" else None
    use_model = draw(st.booleans())
    resolved["use_model"] = use_model
    if use_model:
        for name, pool in MODEL_POOLS.items():
            resolved[name] = draw(mostly(st.sampled_from(pool)))
    pool = SCHEMA.backgrounds(category, use_model=use_model)
    resolved["background"] = draw(mostly(st.sampled_from(pool)))
    resolved["color"] = draw(mostly(HEX_COLOURS))
    return category, resolved


@settings(max_examples=500, deadline=None)
@given(generation=resolved_generations())
def test_any_schema_combination_gives_a_clean_prompt(generation):
    category, resolved = generation
    prompt = build_prompt(category, resolved, schema=SCHEMA)
    assert grammar_problems(prompt, resolved, attributes=SCHEMA.attributes(category)) == []
    assert prompt[0].isupper() and prompt.endswith(".")
    assert "None" not in prompt and "  " not in prompt
    lowered = prompt.lower()
    present = [v for k, v in resolved.items() if isinstance(v, str) and k != "color"]
    if not resolved["use_model"]:
        present = [
            v
            for k, v in resolved.items()
            if isinstance(v, str) and not k.startswith("model_") and k != "color"
        ]
    for value in present:
        assert value.lower() in lowered
    if resolved["color"]:
        assert f"in {color_name(resolved['color'])} ({resolved['color'].upper()})" in prompt
    assert ("model" in lowered) == bool(resolved["use_model"])

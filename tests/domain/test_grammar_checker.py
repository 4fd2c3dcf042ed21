"""The prompt QA checker and the word rules it shares with the prompt builder.

`grammar_problems` is what test_prompts_qa.py judges every built prompt by, so it is pinned here
on hand-written prompts: each kind of problem it must catch, clean prompts it must accept. The
helpers the builder relies on (`indefinite_article`, `tidy_text`, `color_name`) are pinned too.
"""

import pytest

from bulkgen_pipeline.domain.color_names import COLOR_TABLE, color_name
from bulkgen_pipeline.domain.grammar import grammar_problems, indefinite_article, tidy_text
from bulkgen_pipeline.domain.schema import load_category_schema

SCHEMA = load_category_schema()


def test_tidy_text_cleans_what_empty_slots_leave_behind():
    assert tidy_text("a/an  oversized ,, tote bag , with a/an zip closure ,") == (
        "an oversized, tote bag, with a zip closure"
    )
    assert tidy_text("a/an bag in black ( ) on a table") == "a bag in black on a table"
    assert tidy_text("a/an woven straw straw bag, slip-on on a table") == (
        "a woven straw bag, slip-on on a table"
    )
    assert tidy_text(" , a/an ") == ""


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("A oversized leather bag.", "wrong article: 'A oversized'"),
        ("An large leather bag.", "wrong article: 'An large'"),
        ("An university tote bag.", "wrong article: 'An university'"),
        ("A hour-long shoot of a bag.", "wrong article: 'A hour-long'"),
        ("A large leather leather tote bag.", "doubled word: 'leather leather'"),
        ("A large  tote bag.", "empty slot: '  '"),
        ("A large tote bag , on a table.", "empty slot: ' ,'"),
        ("A large tote bag,, on a table.", "empty slot: ',,'"),
        ("A large tote bag in black () on a table.", "empty slot: '()'"),
        ("A large tote bag,", "ends with a comma"),
        ("A None tote bag on a table.", "placeholder value in prompt: 'None'"),
        ("A null tote bag on a table.", "placeholder value in prompt: 'null'"),
        ("A __RANDOM__ tote bag.", "placeholder value in prompt: '__RANDOM__'"),
        ("Young adults Female White person carrying a bag.", "plural model age: 'young adults'"),
        ("Teens Male Black person carrying a bag.", "plural model age: 'teens'"),
        ("A {size} tote bag.", "unrendered template syntax"),
        ("A/an tote bag.", "unrendered template syntax"),
    ],
)
def test_grammar_problems_catches_each_kind_of_problem(prompt, expected):
    problems = grammar_problems(prompt)
    assert any(expected in problem for problem in problems), problems


def test_grammar_problems_accepts_clean_prompts():
    assert grammar_problems("An hour-long shoot of a university tote bag on an oak shelf.") == []
    assert grammar_problems("A one-shoulder bag next to an 8-inch LED lamp and a USB cable.") == []


def test_model_words_are_problems_only_without_a_model():
    prompt = "A young adult Black female model carrying a tote bag, photographed in a park."
    product_only = {"use_model": False}
    problems = grammar_problems(prompt, product_only)
    assert any("'model'" in p for p in problems) and any("'carrying'" in p for p in problems)
    for word in ("wearing", "person", "holding"):
        assert grammar_problems(f"A hoodie {word} nothing.", product_only)
    with_model = {
        "use_model": True,
        "model_sex": "Female",
        "model_age": "Young adult",
        "model_ethnicity": "Black",
        "background": "in a park",
    }
    assert grammar_problems(prompt, with_model) == []


def test_missing_resolved_values_are_reported_by_name():
    prompt = "A large leather tote bag in black (#000000), photographed in a park."
    resolved = {
        "type": "tote bag",
        "material": "suede",
        "size": "large",
        "use_model": True,
        "model_sex": "Female",
        "model_age": "Old",
        "model_ethnicity": "Hispanic",
        "background": "on a wooden table",
        "color": "#FF0000",
        "dimensions": {"width": 5},
        "category": "bags",
        "generation_count": 3,
    }
    problems = grammar_problems(prompt, resolved)
    for name in ("material", "model_sex", "model_age", "model_ethnicity", "background", "color"):
        assert any(f"'{name}'" in p for p in problems), (name, problems)
    for name in ("type", "size", "category", "generation_count"):
        assert not any(f"'{name}'" in p for p in problems), (name, problems)
    unresolved = grammar_problems("A tote bag.", {"type": "tote bag", "size": "__RANDOM__"})
    assert any("'size'" in p and "__RANDOM__" in p for p in unresolved)
    # Model values count only with a model, and a value must match whole words.
    assert grammar_problems(
        "A smaller bag.", {"size": "small", "use_model": False, "model_sex": "Male"}
    ) == ["'size' value 'small' is missing from the prompt"]


@pytest.mark.parametrize(
    ("word", "article"),
    [
        ("oversized", "an"),
        ("utilitarian", "a"),
        ("university", "a"),
        ("urban", "an"),
        ("hour", "an"),
        ("honest", "an"),
        ("hoodie", "a"),
        ("East", "an"),
        ("one-shoulder", "a"),
        ("LED", "an"),
        ("USB", "a"),
        ("8-inch", "an"),
        ("18-karat", "an"),
        ("180", "a"),
        ("11", "an"),
        ("European", "a"),
        ("iridescent", "an"),
        ("young", "a"),
    ],
)
def test_indefinite_article_follows_the_sound(word, article):
    assert indefinite_article(word) == article


@pytest.mark.parametrize(
    ("hex_code", "name"),
    [
        ("#FF0000", "red"),
        ("#000000", "black"),
        ("#FFFFFF", "white"),
        ("#000080", "navy blue"),
        ("#808000", "olive green"),
        ("#F5F5DC", "beige"),
        ("#36454F", "charcoal grey"),
        ("#0000FF", "blue"),
        ("#FFFF00", "yellow"),
        ("#808080", "grey"),
        ("#fe0101", "red"),
        ("f00", "red"),
        ("#111111", "black"),
        ("#F8F8F8", "white"),
        ("#123456", "dark navy"),
    ],
)
def test_color_name_on_known_colours(hex_code, name):
    assert color_name(hex_code) == name


def test_color_name_is_deterministic_and_exact_on_its_own_table():
    for name, code in COLOR_TABLE:
        assert color_name(code) == name
        assert color_name(code.lower()) == name
    with pytest.raises(ValueError):
        color_name("#GG0000")
    with pytest.raises(ValueError):
        color_name("red")


def test_indefinite_article_matches_checker_for_every_schema_value():
    """Every option placed right after an article must satisfy the checker, so the builder's
    and the checker's rule can never drift apart on the shipped vocabulary."""
    for category in SCHEMA.categories:
        for options in SCHEMA.attributes(category).values():
            for value in options:
                text = f"{indefinite_article(value)} {value} on a table."
                assert grammar_problems(text) == [], text

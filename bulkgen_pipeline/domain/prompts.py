"""Prompt building: one resolved generation in, one natural-sounding prompt out.

The wording lives in bulkgen_pipeline/schemas/prompt_templates.json (syntax documented there and
in docs/schema_and_prompts.md), so adding a category or an attribute is a data change. The
template language (parsing, validation, loading) is in prompt_templates.py; this module fills a
category's template with one generation's values and applies the tidy-up rules that keep every
prompt grammatical.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .color_names import color_name, is_hex_color
from .grammar import is_truthy, tidy_text
from .prompt_templates import (
    BUILTIN_SLOTS,
    CATEGORY_FIELDS,
    COLOR_SLOTS,
    DEFAULT_TEMPLATES_PATH,
    LITERAL_FIELDS,
    MODEL_SENTENCE_SLOTS,
    PATTERN_FIELDS,
    SENTENCE_SLOTS,
    CategoryTemplate,
    Pattern,
    PromptTemplateError,
    PromptTemplates,
    load_prompt_templates,
    parse_pattern,
)
from .schema import MODEL_ATTRIBUTE_NAMES, CategorySchema, load_category_schema

# The template language's public names stay importable from here for existing callers.
__all__ = [
    "BUILTIN_SLOTS",
    "CATEGORY_FIELDS",
    "COLOR_SLOTS",
    "DEFAULT_TEMPLATES_PATH",
    "LITERAL_FIELDS",
    "MODEL_SENTENCE_SLOTS",
    "PATTERN_FIELDS",
    "RANDOM_PLACEHOLDER",
    "SENTENCE_SLOTS",
    "CategoryTemplate",
    "Pattern",
    "PromptTemplateError",
    "PromptTemplates",
    "build_prompt",
    "load_prompt_templates",
    "parse_pattern",
]

RANDOM_PLACEHOLDER = "__RANDOM__"


def build_prompt(
    category: str,
    resolved: Mapping[str, Any],
    *,
    schema: CategorySchema | None = None,
    templates_path: Path | None = None,
) -> str:
    """The prompt for one resolved generation of `category`.

    Reads each category attribute, `use_model`, the model attributes (only with use_model),
    `background` and `color` ("#RRGGBB" or None) from `resolved`; other keys are ignored. An
    absent or None value makes its slot disappear.
    """
    schema = schema if schema is not None else load_category_schema()
    if not schema.has_category(category):
        raise ValueError(f"unknown category '{category}' (known: {schema.categories})")
    template = load_prompt_templates(templates_path, schema=schema).for_category(category)
    values = {name: _value(resolved, name) for name in schema.attributes(category)}
    rendered_features = (feature.render(values) for feature in template.features)
    features = [text for text, complete in rendered_features if complete]
    slots = {
        **values,
        "product": f"{template.article.render({})[0]} {template.product.render(values)[0]}",
        "features": _join_features(features),
        "color": _color_phrase(template.color, resolved.get("color")),
        "background": _value(resolved, "background"),
    }
    if is_truthy(resolved.get("use_model")):
        model_values = {name: _value(resolved, name) for name in MODEL_ATTRIBUTE_NAMES}
        # Age and sex are common words mid-sentence; ethnicities are proper adjectives.
        model_values["model_age"] = model_values["model_age"].lower()
        model_values["model_sex"] = model_values["model_sex"].lower()
        slots.update(model_values)
        slots["model"] = template.model.render(model_values)[0]
        slots["action"] = template.action.render({})[0]
        sentence = template.with_model.render(slots)[0]
    else:
        sentence = template.product_only.render(slots)[0]
    tail = tidy_text(template.style_tail.render({})[0])
    prompt = _capitalize(tidy_text(sentence)) + "."
    return f"{prompt} {_capitalize(tail)}." if tail else prompt


def _value(resolved: Mapping[str, Any], name: str) -> str:
    raw = resolved.get(name)
    if raw is None:
        return ""
    text = " ".join(str(raw).split())
    if text.upper() == RANDOM_PLACEHOLDER:
        raise ValueError(f"'{name}' is still {RANDOM_PLACEHOLDER}; resolve it before prompting")
    return text


def _color_phrase(pattern: Pattern, colour: Any) -> str:
    if colour is None or not str(colour).strip():
        return ""
    text = str(colour).strip()
    if is_hex_color(text):
        hex_code = "#" + text.lstrip("#").upper()
        return pattern.render({"color_name": color_name(text), "color_hex": hex_code})[0]
    # A colour given by name ("burgundy") is used as is; there is no hex to show.
    return pattern.render({"color_name": " ".join(text.split())})[0]


def _join_features(features: list[str]) -> str:
    features = [f.strip() for f in features if f.strip()]
    if not features:
        return ""
    if len(features) == 1:
        return f"with {features[0]}"
    return "with " + ", ".join(features[:-1]) + " and " + features[-1]


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]

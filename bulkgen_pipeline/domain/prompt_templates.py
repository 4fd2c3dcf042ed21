"""The prompt template language: patterns, per-category templates, and loading the file.

The wording lives in bulkgen_pipeline/schemas/prompt_templates.json (syntax documented there and
in docs/schema_and_prompts.md). A pattern is text with `{name}`, `{name|fallback}` and
`[optional group]`; loading parses every pattern and checks each category's template against the
category schema, so a bad template fails at load time, naming the category and slot at fault.
Turning a template and a resolved generation into a prompt is prompts.build_prompt's job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .grammar import MODEL_WORDS, contains_phrase
from .schema import MODEL_ATTRIBUTE_NAMES, SCHEMAS_DIR, CategorySchema, load_category_schema

DEFAULT_TEMPLATES_PATH = SCHEMAS_DIR / "prompt_templates.json"

PATTERN_FIELDS = (
    "product",
    "article",
    "action",
    "product_only",
    "with_model",
    "model",
    "color",
    "style_tail",
)
LITERAL_FIELDS = ("article", "action", "style_tail")  # plain text: no slots allowed
CATEGORY_FIELDS = frozenset((*PATTERN_FIELDS, "features"))
SENTENCE_SLOTS = frozenset({"product", "features", "color", "background"})
MODEL_SENTENCE_SLOTS = SENTENCE_SLOTS | {"model", "action"}
COLOR_SLOTS = frozenset({"color_name", "color_hex"})
BUILTIN_SLOTS = MODEL_SENTENCE_SLOTS | COLOR_SLOTS | {"use_model"}


class PromptTemplateError(ValueError):
    """A prompt template is invalid; names the category and the slot (field) at fault."""

    def __init__(self, category: str, slot: str, problem: str):
        super().__init__(f"prompt template for category '{category}', slot '{slot}': {problem}")
        self.category = category
        self.slot = slot
        self.problem = problem


@dataclass(frozen=True)
class _Slot:
    name: str
    fallback: str | None


@dataclass(frozen=True)
class _Group:
    parts: tuple[str | _Slot, ...]


@dataclass(frozen=True)
class Pattern:
    source: str
    parts: tuple[str | _Slot | _Group, ...]

    def slots(self) -> list[_Slot]:
        found: list[_Slot] = []
        for part in self.parts:
            if isinstance(part, _Slot):
                found.append(part)
            elif isinstance(part, _Group):
                found.extend(p for p in part.parts if isinstance(p, _Slot))
        return found

    def slot_names(self) -> set[str]:
        return {slot.name for slot in self.slots()}

    def literal_text(self) -> str:
        """Everything that is not a slot value: the words the template itself contributes."""
        pieces: list[str] = []
        for part in self.parts:
            inner = part.parts if isinstance(part, _Group) else (part,)
            pieces += [p if isinstance(p, str) else p.fallback or "" for p in inner]
        return " ".join(pieces)

    def render(self, values: Mapping[str, str]) -> tuple[str, bool]:
        """The text, and whether every slot without a fallback had a value."""
        return _render(self.parts, values)


def _render(parts: tuple[Any, ...], values: Mapping[str, str]) -> tuple[str, bool]:
    pieces: list[str] = []
    complete = True
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, _Slot):
            value = values.get(part.name) or part.fallback or ""
            complete = complete and bool(value)
            pieces.append(value)
        else:
            text, group_complete = _render(part.parts, values)
            if group_complete:
                pieces.append(text)
    return "".join(pieces), complete


_SLOT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_pattern(source: Any, *, category: str, slot: str) -> Pattern:
    """Parse `{name}`, `{name|fallback}` and `[optional group]`; errors name category and slot."""
    if not isinstance(source, str):
        raise PromptTemplateError(category, slot, f"must be a string, not {type(source).__name__}")
    stack: list[list[Any]] = [[]]
    literal: list[str] = []

    def flush() -> None:
        if literal:
            stack[-1].append("".join(literal))
            literal.clear()

    index = 0
    while index < len(source):
        char = source[index]
        if char == "{":
            end = source.find("}", index)
            body = source[index + 1 : end] if end != -1 else ""
            if end == -1 or any(c in body for c in "{[]"):
                raise PromptTemplateError(category, slot, f"unclosed '{{' in {source!r}")
            name, has_fallback, fallback = (s.strip() for s in body.partition("|"))
            if not _SLOT_NAME_RE.match(name):
                raise PromptTemplateError(category, slot, f"bad slot name {body!r} in {source!r}")
            if has_fallback and not fallback:
                raise PromptTemplateError(category, slot, f"empty fallback in {{{body}}}")
            flush()
            stack[-1].append(_Slot(name, fallback if has_fallback else None))
            index = end + 1
            continue
        if char == "}":
            raise PromptTemplateError(category, slot, f"unmatched '}}' in {source!r}")
        if char == "[":
            if len(stack) > 1:
                raise PromptTemplateError(category, slot, f"groups cannot nest: {source!r}")
            flush()
            stack.append([])
        elif char == "]":
            if len(stack) == 1:
                raise PromptTemplateError(category, slot, f"unmatched ']' in {source!r}")
            flush()
            group = _Group(tuple(stack.pop()))
            _check_optional(group.parts, category, slot, source)
            stack[-1].append(group)
        else:
            literal.append(char)
        index += 1
    if len(stack) > 1:
        raise PromptTemplateError(category, slot, f"unclosed '[' in {source!r}")
    flush()
    return Pattern(source, tuple(stack[0]))


def _check_optional(parts: tuple[Any, ...], category: str, slot: str, source: str) -> None:
    # One droppable slot per optional piece: with two, an absent one would silently take the
    # other's value out of the prompt too.
    droppable = [p for p in parts if isinstance(p, _Slot) and p.fallback is None]
    if len(droppable) != 1:
        raise PromptTemplateError(
            category, slot, f"an optional group needs exactly one slot without fallback: {source!r}"
        )


@dataclass(frozen=True)
class CategoryTemplate:
    category: str
    product: Pattern
    features: tuple[Pattern, ...]
    article: Pattern
    action: Pattern
    product_only: Pattern
    with_model: Pattern
    model: Pattern
    color: Pattern
    style_tail: Pattern


@dataclass(frozen=True)
class PromptTemplates:
    path: str
    categories: Mapping[str, CategoryTemplate]

    def for_category(self, category: str) -> CategoryTemplate:
        if category not in self.categories:
            raise PromptTemplateError(category, "(template)", f"no prompt template in {self.path}")
        return self.categories[category]

    def check_against(self, schema: CategorySchema) -> None:
        """Every schema category has a template whose slots name only its own attributes."""
        for category in schema.categories:
            _check_category(self.for_category(category), set(schema.attributes(category)))


def load_prompt_templates(
    path: str | Path | None = None, *, schema: CategorySchema | None = None
) -> PromptTemplates:
    """Load (cached by path and modification time) and validate against `schema` (default: the
    shipped category schema). Raises PromptTemplateError naming the category and slot."""
    file = Path(path) if path is not None else DEFAULT_TEMPLATES_PATH
    templates = _parse_file(str(file.resolve()), file.stat().st_mtime_ns)
    schema = schema if schema is not None else load_category_schema()
    # Checking is cheap but build_prompt runs per generation; remember pairs already checked.
    # The entry holds both objects, so their ids cannot be reused while it exists.
    key = (id(templates), id(schema))
    if _CHECKED.get(key, (None, None))[1] is not schema:
        templates.check_against(schema)
        if len(_CHECKED) > 32:
            _CHECKED.clear()
        _CHECKED[key] = (templates, schema)
    return templates


_CHECKED: dict[tuple[int, int], tuple[PromptTemplates, CategorySchema]] = {}


@lru_cache(maxsize=8)
def _parse_file(path: str, _mtime_ns: int) -> PromptTemplates:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        problem = f"not valid JSON: {exc.msg}"
        raise PromptTemplateError("(file)", f"{path}:{exc.lineno}", problem) from exc
    if not isinstance(document, dict):
        raise PromptTemplateError("(file)", "(root)", "must be a JSON object")
    unknown = sorted(
        k
        for k in document
        if not k.startswith("_") and k not in ("version", "defaults", "categories")
    )
    if unknown:
        raise PromptTemplateError("(file)", unknown[0], "unknown top-level key")
    defaults = _fields(document.get("defaults"), "defaults", required=set(PATTERN_FIELDS[1:]))
    for name, source in defaults.items():
        if name != "features":
            parse_pattern(source, category="defaults", slot=name)
    categories = document.get("categories")
    if not isinstance(categories, dict) or not categories:
        raise PromptTemplateError("(file)", "categories", "must be a non-empty object")
    parsed = {
        name: _category_template(name, _fields(entry, name, required={"product"}), defaults)
        for name, entry in categories.items()
    }
    return PromptTemplates(path, MappingProxyType(parsed))


def _fields(entry: Any, category: str, *, required: set[str]) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise PromptTemplateError(category, "(template)", "must be a JSON object")
    fields = {k: v for k, v in entry.items() if not k.startswith("_")}
    unknown = sorted(set(fields) - CATEGORY_FIELDS)
    if unknown:
        raise PromptTemplateError(
            category, unknown[0], f"unknown field (known: {sorted(CATEGORY_FIELDS)})"
        )
    missing = sorted(required - set(fields))
    if missing:
        raise PromptTemplateError(category, missing[0], "missing")
    return fields


def _category_template(
    category: str, fields: dict[str, Any], defaults: dict[str, Any]
) -> CategoryTemplate:
    merged = {**defaults, **fields}
    patterns = {
        name: parse_pattern(merged[name], category=category, slot=name) for name in PATTERN_FIELDS
    }
    for name in LITERAL_FIELDS:
        if patterns[name].slot_names():
            raise PromptTemplateError(category, name, "is plain text and cannot contain slots")
    raw_features = merged.get("features", [])
    if not isinstance(raw_features, list):
        raise PromptTemplateError(category, "features", "must be a list of phrases")
    features = []
    for index, source in enumerate(raw_features):
        slot = f"features[{index}]"
        feature = parse_pattern(source, category=category, slot=slot)
        _check_optional(feature.parts, category, slot, feature.source)
        features.append(feature)
    return CategoryTemplate(category=category, features=tuple(features), **patterns)


def _check_category(template: CategoryTemplate, names: set[str]) -> None:
    category = template.category
    clashes = sorted(names & BUILTIN_SLOTS)
    if clashes:
        raise PromptTemplateError(category, clashes[0], "attribute name is a built-in slot")
    allowed = {
        "product": names,
        **{f"features[{i}]": names for i in range(len(template.features))},
        "product_only": names | SENTENCE_SLOTS,
        "with_model": names | MODEL_SENTENCE_SLOTS | set(MODEL_ATTRIBUTE_NAMES),
        "model": set(MODEL_ATTRIBUTE_NAMES),
        "color": set(COLOR_SLOTS),
    }
    patterns = {name: getattr(template, name) for name in PATTERN_FIELDS}
    patterns.update({f"features[{i}]": f for i, f in enumerate(template.features)})
    for slot, pattern in patterns.items():
        unknown = sorted(pattern.slot_names() - allowed.get(slot, pattern.slot_names()))
        if unknown:
            builtins = sorted(allowed[slot] - names)
            raise PromptTemplateError(
                category,
                slot,
                f"unknown attribute '{unknown[0]}': category '{category}' has {sorted(names)}"
                + (f", built-in slots here are {builtins}" if builtins else ""),
            )
    sentence_needs = SENTENCE_SLOTS if template.features else SENTENCE_SLOTS - {"features"}
    required = {
        "product_only": sentence_needs,
        "with_model": sentence_needs | {"model"},
        "model": set(MODEL_ATTRIBUTE_NAMES),
        "color": set(COLOR_SLOTS),
    }
    for slot, needed in required.items():
        missing = sorted(needed - patterns[slot].slot_names())
        if missing:
            raise PromptTemplateError(category, slot, f"must contain {{{missing[0]}}}")
    if not template.product.render({})[0].strip():
        raise PromptTemplateError(
            category,
            "product",
            "needs a head noun that is always there: literal text or {attribute|fallback}",
        )
    in_phrase = template.product.slot_names().union(*(f.slot_names() for f in template.features))
    in_both = template.product_only.slot_names() & template.with_model.slot_names()
    unused = sorted(names - in_phrase - in_both)
    if unused:
        raise PromptTemplateError(
            category,
            "product",
            f"attribute '{unused[0]}' is in no slot (product, features, or both sentences), "
            "so its value would never reach the prompt",
        )
    product_only_parts = (
        "product",
        "article",
        "product_only",
        "color",
        "style_tail",
        *(f"features[{i}]" for i in range(len(template.features))),
    )
    for slot in product_only_parts:
        words = [w for w in MODEL_WORDS if contains_phrase(patterns[slot].literal_text(), w)]
        if words:
            problem = f"'{words[0]}' would put a person into product-only prompts"
            raise PromptTemplateError(category, slot, problem)

"""Grammar rules for generated prompts: the a/an rule and a checker listing what reads wrong.

The prompt builder and the checker share `indefinite_article`, so a prompt the builder writes
and a prompt the checker accepts follow the same rule. The checker stays dependency-free and
regex-only because it runs on every generation (QA tests and the pipeline's asset check).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .schema import MODEL_ATTRIBUTE_NAMES

# Keys of a resolved config that are not product attributes and whose values need not appear
# in the prompt text (they steer the run, not the picture's wording).
NON_ATTRIBUTE_KEYS = frozenset(
    {
        "use_model",
        "color",
        "background",
        *MODEL_ATTRIBUTE_NAMES,
        "model_attributes",
        "category",
        "name",
        "preset_id",
        "preset_name",
        "id",
        "seed",
        "generation",
        "generation_count",
        "dimensions",
        "width",
        "height",
        "aspect_ratio",
        "color_palette",
        "color_strategy",
        "color_weights",
        "sampling",
        "negative_prompt",
        "prompt",
        "provider",
        "model",
        "quality",
        "output_format",
    }
)

# Words that only belong in a prompt showing a person; product-only prompts must not use them.
MODEL_WORDS = (
    "model",
    "models",
    "wearing",
    "carrying",
    "holding",
    "person",
    "people",
    "woman",
    "women",
    "man",
    "men",
)

# Plural or slang age words that once produced "Young adults Female White person".
PLURAL_AGE_WORDS = (
    "young adults",
    "teens",
    "teenagers",
    "adults",
    "middle-aged adults",
    "seniors",
    "olds",
    "kids",
    "children",
)

# Words spelled with a vowel but said with a consonant ("a university") and the reverse ("an
# hour"). Prefix lists keep the rule small; extend them when the vocabulary grows.
_CONSONANT_SOUND_PREFIXES = ("uni", "use", "usu", "uti", "ubiq", "u-", "eu", "ewe", "one", "once")
_VOWEL_SOUND_PREFIXES = ("hour", "honest", "honor", "honour", "heir")
# Letter names that start with a vowel sound, for acronyms read letter by letter ("an LED").
_VOWEL_SOUND_LETTERS = frozenset("AEFHILMNORSX")

_ARTICLE_RE = re.compile(r"(?<![\w/#'-])(a|an)\s+([^\s]+)", re.IGNORECASE)
# Whole words only: "slip-on on a table" repeats no word, "leather leather" does.
_DOUBLED_WORD_RE = re.compile(r"(?<![\w'-])(\w+)\s+\1(?![\w'-])", re.IGNORECASE)
_PLACEHOLDER_WORD_RE = re.compile(r"\b(none|null|undefined|NaN)\b|__random__", re.IGNORECASE)
_EMPTY_SLOT_MARKS = ("  ", " ,", " .", ",,", "..", ",.", ".,", "()", "( ", " )", "(,")
_TEMPLATE_SYNTAX_RE = re.compile(r"[{}\[\]]|\ba/an\b", re.IGNORECASE)


def indefinite_article(next_word: str) -> str:
    """'a' or 'an' for the word that follows, by its sound rather than its first letter."""
    word = next_word.lstrip("\"'(")
    if not word:
        return "a"
    if word[0].isdigit():
        return _article_for_number(word)
    head = re.split(r"[-/]", word, maxsplit=1)[0]
    if len(head) > 1 and head.isalpha() and head.isupper():
        return "an" if head[0] in _VOWEL_SOUND_LETTERS else "a"
    lower = word.lower()
    if lower.startswith(_VOWEL_SOUND_PREFIXES):
        return "an"
    if lower.startswith(_CONSONANT_SOUND_PREFIXES):
        return "a"
    return "an" if lower[0] in "aeiou" else "a"


def _article_for_number(word: str) -> str:
    digits = re.match(r"\d+", word.replace(",", "")).group(0)  # type: ignore[union-attr]
    # "an 8", "an 80", "an 11", "an 18", "an 18,000"; every other number starts with a consonant.
    if digits.startswith("8"):
        return "an"
    return "an" if digits[:2] in ("11", "18") and len(digits) % 3 == 2 else "a"


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether `phrase` occurs in `text` as whole words, ignoring case."""
    pattern = r"(?<!\w)" + re.escape(phrase.strip()) + r"(?!\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


def grammar_problems(
    prompt: str,
    resolved: Mapping[str, Any] | None = None,
    *,
    attributes: Iterable[str] | None = None,
) -> list[str]:
    """Human-readable problems in a generated prompt; an empty list means it is clean.

    With `resolved`, also checks that every resolved value made it into the text. `attributes`
    names the category attributes; without it every string value of `resolved` outside the
    known non-attribute keys counts as one.
    """
    problems: list[str] = []
    if not prompt.strip():
        return ["prompt is empty"]
    problems += _article_problems(prompt)
    problems += _doubled_word_problems(prompt)
    problems += _empty_slot_problems(prompt)
    problems += _placeholder_problems(prompt)
    problems += _plural_age_problems(prompt)
    if resolved is not None:
        use_model = is_truthy(resolved.get("use_model"))
        if not use_model:
            problems += _model_word_problems(prompt)
        problems += _missing_value_problems(prompt, resolved, use_model, attributes)
    return problems


def _article_problems(prompt: str) -> list[str]:
    problems = []
    for match in _ARTICLE_RE.finditer(prompt):
        article, following = match.group(1), match.group(2)
        if not following.lstrip("\"'(")[:1].isalnum():
            continue
        expected = indefinite_article(following)
        if article.lower() != expected:
            wrong, right = f"{article} {following}", f"{expected} {following}"
            problems.append(f"wrong article: '{wrong}' should be '{right}'")
    return problems


def _doubled_word_problems(prompt: str) -> list[str]:
    return [f"doubled word: '{m.group(0)}'" for m in _DOUBLED_WORD_RE.finditer(prompt)]


def _empty_slot_problems(prompt: str) -> list[str]:
    problems = [f"empty slot: {mark!r} in prompt" for mark in _EMPTY_SLOT_MARKS if mark in prompt]
    if prompt != prompt.strip():
        problems.append("empty slot: leading or trailing whitespace")
    if re.search(r"^[\s,.;]|[,;]\s*$", prompt):
        problems.append("empty slot: prompt starts with punctuation or ends with a comma")
    if re.search(r",\s*,|,\s*\.", prompt):
        problems.append("empty slot: punctuation with nothing between")
    syntax = sorted({m.group(0) for m in _TEMPLATE_SYNTAX_RE.finditer(prompt)})
    if syntax:
        problems.append(f"unrendered template syntax: {', '.join(repr(s) for s in syntax)}")
    return problems


def _placeholder_problems(prompt: str) -> list[str]:
    found = sorted({m.group(0) for m in _PLACEHOLDER_WORD_RE.finditer(prompt)})
    return [f"placeholder value in prompt: '{word}'" for word in found]


def _plural_age_problems(prompt: str) -> list[str]:
    return [
        f"plural model age: '{word}' (use a singular form such as 'young adult' or 'teenager')"
        for word in PLURAL_AGE_WORDS
        if contains_phrase(prompt, word)
    ]


def _model_word_problems(prompt: str) -> list[str]:
    return [
        f"model word '{word}' in a product-only prompt (use_model is false)"
        for word in MODEL_WORDS
        if contains_phrase(prompt, word)
    ]


def _missing_value_problems(
    prompt: str,
    resolved: Mapping[str, Any],
    use_model: bool,
    attributes: Iterable[str] | None,
) -> list[str]:
    expected: dict[str, Any] = {}
    names = (
        list(attributes)
        if attributes is not None
        else [k for k in resolved if k not in NON_ATTRIBUTE_KEYS]
    )
    for name in names:
        expected[name] = resolved.get(name)
    if use_model:
        nested = resolved.get("model_attributes")
        nested = nested if isinstance(nested, Mapping) else {}
        for name in MODEL_ATTRIBUTE_NAMES:
            expected[name] = resolved.get(name, nested.get(name))
    expected["background"] = resolved.get("background")
    colour = resolved.get("color")
    if isinstance(colour, str):
        expected["color"] = colour

    problems = []
    for name, value in expected.items():
        if not isinstance(value, str) or not value.strip():
            continue
        if value.strip().upper() == "__RANDOM__":
            problems.append(f"'{name}' was never resolved (still __RANDOM__)")
        elif not contains_phrase(prompt, value):
            problems.append(f"'{name}' value '{value}' is missing from the prompt")
    return problems


def is_truthy(value: Any) -> bool:
    """use_model may arrive as a bool or, from forms and env-style configs, as a string."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes", "on")
    return bool(value)


_ARTICLE_SLOT_RE = re.compile(r"\b(a/an)(\s+)(\S+)", re.IGNORECASE)
_DOUBLED_WORDS_RE = re.compile(r"(?<![\w'-])(\w+)(?:\s+\1(?![\w'-]))+", re.IGNORECASE)


def tidy_text(text: str) -> str:
    """Collapse what empty slots leave behind and settle every 'a/an'."""
    text = " ".join(text.split())
    text = re.sub(r"\s+([,.;:!?)])", r"\1", text)
    text = re.sub(r"\(\s+", "(", text).replace("()", "")
    text = re.sub(r",(\s*,)+", ",", text)
    text = re.sub(r",\s*\.", ".", text)
    # Two adjacent slots can end and start with the same word ("woven straw" + "straw bag").
    text = _DOUBLED_WORDS_RE.sub(r"\1", text)
    text = _ARTICLE_SLOT_RE.sub(_settle_article, text)
    text = re.sub(r"\ba/an\b", "", text, flags=re.IGNORECASE)
    text = " ".join(text.split())
    return text.strip(" ,;").rstrip(".").rstrip(" ,;")


def _settle_article(match: re.Match[str]) -> str:
    article = indefinite_article(match.group(3))
    if match.group(1)[0].isupper():
        article = article.capitalize()
    return f"{article}{match.group(2)}{match.group(3)}"

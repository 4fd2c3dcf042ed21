"""A run's tags: short labels a merchant files runs under (`GET …/runs?tag=`)."""

from __future__ import annotations

import re
from typing import Any

from .errors import FieldProblem, InvalidInput

MAX_TAGS = 20
MAX_TAG_LENGTH = 32
# Starts with a letter or digit, never ends with a space; the API's schema states the same.
TAG_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9 _.\-]*[A-Za-z0-9_.\-])?$"
_TAG = re.compile(TAG_PATTERN)
TAG_RULE = (
    f"1-{MAX_TAG_LENGTH} letters, digits, spaces, '_', '.' or '-', starting with a letter or "
    "digit and not ending with a space"
)


def tag_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    if len(value) > MAX_TAG_LENGTH or not _TAG.match(value):
        return f"{value!r} is not a tag: {TAG_RULE}"
    return None


def parse_tags(value: Any, field: str = "tags") -> list[str]:
    """The tags as given, each once (first spelling kept), in order; InvalidInput naming
    `tags.N` for a bad one, `tags` for too many."""
    if not isinstance(value, list):
        raise InvalidInput([FieldProblem(field, "must be a list of tags")])
    problems = [
        FieldProblem(f"{field}.{position}", problem)
        for position, item in enumerate(value)
        if (problem := tag_problem(item)) is not None
    ]
    if problems:
        raise InvalidInput(problems)
    tags: list[str] = []
    for tag in value:
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise InvalidInput([FieldProblem(field, f"at most {MAX_TAGS} tags, got {len(tags)}")])
    return tags

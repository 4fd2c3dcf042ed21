"""What a name and a free-text field may hold, one rule for every way in.

PostgreSQL refuses NUL in text and SQLite does not, and a VARCHAR(200) is enforced by one and
not the other, so the rule is checked here, before either database sees the value.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

NAME_MAX_LENGTH = 200


def name_problem(value: object) -> str | None:
    """Why `value` is not a name (1–200 printable characters), or None when it is one."""
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    stripped = value.strip()
    if not stripped:
        return "must not be empty"
    if len(stripped) > NAME_MAX_LENGTH:
        return f"must be at most {NAME_MAX_LENGTH} characters, got {len(stripped)}"
    bad = next((ch for ch in stripped if not ch.isprintable()), None)
    if bad is not None:
        return f"must hold printable characters only; found U+{ord(bad):04X}"
    return None


def check_name(value: str) -> str:
    """The name without surrounding whitespace; ValueError saying why it is not a name."""
    problem = name_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value.strip()


def check_free_text(value: str | None) -> str | None:
    """Prompts may hold newlines and tabs, never NUL (PostgreSQL refuses it)."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain a NUL character (\\u0000)")
    return value


Name = Annotated[str, AfterValidator(check_name)]
FreeText = Annotated[str, AfterValidator(check_free_text)]

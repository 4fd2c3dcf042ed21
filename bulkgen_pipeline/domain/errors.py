"""Validation errors that name the field, the problem and, where it helps, the allowed values."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

# A response lists at most this many problems and counts the rest: 60 000 unknown keys must not
# turn into megabytes of errors.
MAX_REPORTED_PROBLEMS = 50


@dataclass(frozen=True)
class FieldProblem:
    field: str  # dotted path, e.g. "config.model_attributes.model_age"
    message: str
    allowed: list[Any] = dataclass_field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"field": self.field, "message": self.message}
        if self.allowed:
            data["allowed"] = self.allowed
        return data

    def __str__(self) -> str:
        text = f"{self.field}: {self.message}"
        if self.allowed:
            text += f" (allowed: {', '.join(map(str, self.allowed))})"
        return text


class InvalidInput(ValueError):
    """Input refused: `problems` holds the first MAX_REPORTED_PROBLEMS, `omitted` the rest."""

    error = "invalid input"

    def __init__(self, problems: Iterable[FieldProblem], *, omitted: int = 0):
        problems = list(problems)
        self.problems = problems[:MAX_REPORTED_PROBLEMS]
        self.omitted = omitted + len(problems) - len(self.problems)
        text = "; ".join(str(p) for p in self.problems)
        if self.omitted:
            text += f"; and {self.omitted} more problems"
        super().__init__(text)

    def report(self) -> dict[str, Any]:
        """The problems as JSON: `problems`, plus `more_problems` when some were left off."""
        data: dict[str, Any] = {"problems": [p.to_dict() for p in self.problems]}
        if self.omitted:
            data["more_problems"] = self.omitted
        return data

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.error, **self.report()}


class PresetValidationError(InvalidInput):
    """A preset, prompt batch or the JSON document carrying one is invalid."""

    error = "invalid preset"


# Marks the tag of a tagged union's member (domain.sizes.Sizes): pydantic puts the tag into an
# error's location, where the merchant's field path has no such part, so it is left out.
UNION_TAG = "~"


def problems_from_pydantic(exc: Any, prefix: str = "") -> list[FieldProblem]:
    """Turn a pydantic ValidationError into FieldProblems with dotted paths."""
    problems = []
    for error in exc.errors(include_url=False):
        parts = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith(UNION_TAG))]
        path = ".".join(str(part) for part in parts)
        full = f"{prefix}.{path}" if prefix and path else (prefix or path or "(root)")
        allowed = list(error.get("ctx", {}).get("expected_values", []) or [])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"].endswith("_type") or error["type"] == "finite_number":
            message += f" (got {_shown(error.get('input'))})"
        problems.append(FieldProblem(full, message, allowed))
    return problems


def _shown(value: Any) -> str:
    """A short JSON-ish rendering of a refused value, so `true` and `"5"` read as typed."""
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

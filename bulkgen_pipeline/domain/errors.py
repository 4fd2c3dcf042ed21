"""Validation errors that name the field, the problem and, where it helps, the allowed values."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any


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


class PresetValidationError(ValueError):
    """A preset or prompt batch is invalid; `problems` lists every bad field."""

    def __init__(self, problems: list[FieldProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))

    def to_dict(self) -> dict[str, Any]:
        return {"error": "invalid preset", "problems": [p.to_dict() for p in self.problems]}


def problems_from_pydantic(exc: Any, prefix: str = "") -> list[FieldProblem]:
    """Turn a pydantic ValidationError into FieldProblems with dotted paths."""
    problems = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"])
        full = f"{prefix}.{path}" if prefix and path else (prefix or path or "(root)")
        allowed = list(error.get("ctx", {}).get("expected_values", []) or [])
        message = error["msg"].removeprefix("Value error, ")
        problems.append(FieldProblem(full, message, allowed))
    return problems

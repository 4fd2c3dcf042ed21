"""The preset: what a merchant asks for, in the canonical shape or the seed's flattened one.

Structural checks (types, ranges, hex colours, dimensions) are pydantic's; checks against the
category schema (known category, known attributes, allowed values) are ours. Both run on every
input, so every problem comes back at once as one PresetValidationError naming the field and the
allowed values. Counts, seeds and booleans are strict: `true`, `"5"` and `5.0` are not counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import FieldProblem, PresetValidationError, problems_from_pydantic
from .schema import MODEL_ATTRIBUTE_NAMES, CategorySchema, load_category_schema
from .sizes import MAX_SIZES, Sizes, default_size, size_json
from .text import FreeText, Name

RANDOM = "__RANDOM__"
MAX_GENERATIONS = 50
# The most images one run makes: every generation in each of its sizes.
MAX_IMAGES = MAX_GENERATIONS * MAX_SIZES
_HEX = re.compile(r"^#?([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$")
_PRESET_KEYS = {"id", "name", "category", "config", "description"}


def is_random(value: Any) -> bool:
    """`__RANDOM__`, null and blank all mean "let the system choose"."""
    return value is None or (isinstance(value, str) and value.strip() in ("", RANDOM))


def normalize_hex(value: str) -> str:
    match = _HEX.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"'{value}' is not a hex colour like #1A2B3C")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return "#" + digits.upper()


class ColorStrategy(StrEnum):
    cycling = "cycling"
    random = "random"
    weighted = "weighted"


class Sampling(StrEnum):
    unique = "unique"  # distinct combinations, drawn without replacement
    balanced = "balanced"  # distinct where possible, and every value used about equally often


class ModelAttributes(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    model_sex: str | None = RANDOM
    model_age: str | None = RANDOM
    model_ethnicity: str | None = RANDOM


class ModelChoice(BaseModel):
    """The image model a run asks for (an id of GET /api/models) and its parameters. Checked
    here for type and range; against the deployment's catalogue when a run starts (the models
    on offer depend on the providers enabled there). None: the router chooses, as by default."""

    model: FreeText | None = Field(default=None, min_length=1, max_length=200)
    steps: int | None = Field(default=None, ge=1, le=1000, strict=True)
    guidance_scale: float | None = Field(default=None, ge=0, le=100)

    @field_validator("guidance_scale", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        if isinstance(value, bool) or (value is not None and not isinstance(value, int | float)):
            raise ValueError("must be a number")
        return value

    def chosen(self) -> dict[str, Any]:
        """The choice as a generation records it: only what was given."""
        chosen = {"model": self.model, "steps": self.steps, "guidance_scale": self.guidance_scale}
        return {name: value for name, value in chosen.items() if value is not None}


class PresetConfig(ModelChoice):
    """Known settings are fields; everything else is a category attribute, checked later."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    use_model: bool = Field(default=False, strict=True)
    model_attributes: ModelAttributes = Field(default_factory=ModelAttributes)
    background: str | None = RANDOM
    color_palette: list[str] = Field(default_factory=list, max_length=50)
    color_strategy: ColorStrategy = ColorStrategy.cycling
    color_weights: list[Annotated[float, Field(strict=True)]] | None = Field(
        default=None, max_length=50
    )
    generation_count: int = Field(default=5, ge=1, le=MAX_GENERATIONS, strict=True)
    dimensions: Sizes = Field(default_factory=default_size)
    seed: int | None = Field(default=None, ge=0, le=2**63 - 1, strict=True)
    sampling: Sampling = Sampling.unique
    negative_prompt: FreeText | None = Field(default=None, max_length=2000)

    @field_validator("color_palette", mode="before")
    @classmethod
    def _palette(cls, value: Any) -> Any:
        if value is None or is_random(value):
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise ValueError("color_palette must be a list of hex colours")
        return [normalize_hex(v) if isinstance(v, str) else v for v in value]

    @field_validator("color_weights")
    @classmethod
    def _positive_weights(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(w <= 0 for w in value):
            raise ValueError("every colour weight must be greater than 0")
        return value

    @model_validator(mode="after")
    def _weights_match_palette(self) -> PresetConfig:
        if self.color_weights is not None and len(self.color_weights) != len(self.color_palette):
            raise ValueError(
                f"color_weights has {len(self.color_weights)} entries but color_palette has "
                f"{len(self.color_palette)}; give one weight per colour"
            )
        return self

    @property
    def attributes(self) -> dict[str, Any]:
        """The category attributes: every key that is not a known setting."""
        return dict(self.model_extra or {})


class Preset(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: FreeText | None = Field(default=None, max_length=64)
    name: Name
    category: str = Field(min_length=1, max_length=64)
    description: FreeText | None = Field(default=None, max_length=2000)
    config: PresetConfig

    @model_validator(mode="before")
    @classmethod
    def _accept_flattened(cls, data: Any) -> Any:
        return canonical_shape(data) if isinstance(data, dict) else data

    def canonical(self) -> dict[str, Any]:
        """The canonical JSON form, as stored (presets) and in a job's snapshot. The size is in
        the one form it was given, never beside nulls for the other (which read as both)."""
        document = self.model_dump(mode="json", exclude_none=False)
        document["config"]["dimensions"] = size_json(self.config.dimensions)
        for name in ModelChoice.model_fields:  # only when chosen: a preset without is as before
            if document["config"][name] is None:
                del document["config"][name]
        return document


def canonical_shape(data: dict[str, Any]) -> dict[str, Any]:
    """The seed's flattened form moved into the canonical one: settings under `config`,
    `model_sex` etc. under `config.model_attributes`. Values are not checked here."""
    data = dict(data)
    if "config" not in data:
        data["config"] = {k: data.pop(k) for k in list(data) if k not in _PRESET_KEYS}
    config = data["config"]
    if isinstance(config, dict) and any(name in config for name in MODEL_ATTRIBUTE_NAMES):
        config = dict(config)
        nested = config.get("model_attributes") or {}
        nested = dict(nested) if isinstance(nested, dict) else nested
        for name in MODEL_ATTRIBUTE_NAMES:
            if name in config and isinstance(nested, dict):
                nested.setdefault(name, config.pop(name))
        config["model_attributes"] = nested
        data["config"] = config
    return data


@dataclass(frozen=True)
class _SchemaMatch:
    """A preset's values in the schema's spelling."""

    category: str
    attributes: dict[str, Any]
    model_attributes: dict[str, Any]
    background: Any


def parse_preset(data: Any, schema: CategorySchema | None = None) -> Preset:
    """Validate a preset (canonical or flattened) against its types and the category schema.

    Values are matched to the schema case-insensitively and returned in the schema's spelling.
    Raises PresetValidationError listing every problem, type and schema problems together.
    """
    schema = schema or load_category_schema()
    problems: list[FieldProblem] = []
    preset: Preset | None = None
    try:
        preset = Preset.model_validate(data)
    except ValidationError as exc:
        problems.extend(problems_from_pydantic(exc))
    match = None
    if isinstance(data, dict):
        match = _match_schema(canonical_shape(data), schema, problems)
    if problems or preset is None or match is None:
        raise PresetValidationError(problems)
    config = preset.config
    new_config = config.model_copy(
        update={
            "background": match.background,
            "model_attributes": ModelAttributes(**match.model_attributes)
            if config.use_model
            else ModelAttributes(),
        }
    )
    # Extras live in __pydantic_extra__; rewrite them in the schema's spelling.
    new_config.__pydantic_extra__ = match.attributes
    return preset.model_copy(update={"category": match.category, "config": new_config})


def _match_schema(
    data: dict[str, Any], schema: CategorySchema, problems: list[FieldProblem]
) -> _SchemaMatch | None:
    """Check the raw (canonically shaped) values against the schema, appending to `problems`.

    Works on the input, not on a validated model, so that schema problems are reported even
    when some types are wrong; a field pydantic already refused is not reported twice.
    """
    refused = {p.field for p in problems}
    raw_category = data.get("category")
    if not isinstance(raw_category, str) or "category" in refused:
        return None
    category = _match_category(raw_category, schema)
    if category is None:
        problems.append(
            FieldProblem("category", f"unknown category '{raw_category}'", schema.categories)
        )
        return None
    config = data.get("config")
    if not isinstance(config, dict):
        return None

    def check(field: str, value: Any, options: list[str]) -> Any:
        if field in refused:
            return value
        return _check_value(field, value, options, problems)

    known = schema.attributes(category)
    attributes: dict[str, Any] = {}
    for name, value in config.items():
        if name in PresetConfig.model_fields:
            continue
        if name not in known:
            problems.append(
                FieldProblem(
                    f"config.{name}", f"unknown attribute for category '{category}'", list(known)
                )
            )
            continue
        attributes[name] = check(f"config.{name}", value, known[name])
    use_model = config.get("use_model", False)
    if not isinstance(use_model, bool):  # refused by pydantic; the pools depend on it
        return None
    model_values: dict[str, Any] = {}
    given = config.get("model_attributes") or {}
    if use_model and isinstance(given, dict):
        pools = schema.model_attributes()
        for name in MODEL_ATTRIBUTE_NAMES:
            field = f"config.model_attributes.{name}"
            model_values[name] = check(field, given.get(name, RANDOM), pools[name])
    background = check(
        "config.background",
        config.get("background", RANDOM),
        schema.backgrounds(category, use_model=use_model),
    )
    return _SchemaMatch(category, attributes, model_values, background)


def _match_category(category: str, schema: CategorySchema) -> str | None:
    wanted = category.strip().lower()
    for candidate in schema.categories:
        if candidate.lower() in (wanted, wanted.replace("-", "_"), wanted.replace("_", "-")):
            return candidate
    return None


def _check_value(field: str, value: Any, options: list[str], problems: list[FieldProblem]) -> Any:
    if is_random(value):
        return RANDOM
    if not isinstance(value, str):
        problems.append(
            FieldProblem(field, f'must be a string or "{RANDOM}", got {value!r}', options)
        )
        return value
    for option in options:
        if option.lower() == value.strip().lower():
            return option
    problems.append(FieldProblem(field, f"'{value}' is not an allowed value", options))
    return value

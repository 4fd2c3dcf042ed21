"""The category schema: which categories exist, their attribute options and background pools.

The file keeps the seed's shape (`{"<category>": {"<attribute>": [...]}, "background_mapping":
..., "model_attributes": ...}`); keys starting with `x_` are extensions, never categories.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema

# Shipped inside the package (package data in pyproject.toml), so a non-editable install finds it.
SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "schemas"
DEFAULT_SCHEMA_PATH = SCHEMAS_DIR / "category_metadata_schema.json"
SCHEMA_OF_SCHEMA_PATH = SCHEMAS_DIR / "category_metadata_schema.schema.json"

RESERVED_KEYS = frozenset({"background_mapping", "model_attributes"})
MODEL_ATTRIBUTE_NAMES = ("model_sex", "model_age", "model_ethnicity")
# Preset settings and resolved keys a category attribute may not shadow.
RESERVED_ATTRIBUTE_NAMES = frozenset(
    {
        *MODEL_ATTRIBUTE_NAMES,
        "background",
        "color",
        "color_palette",
        "color_strategy",
        "color_weights",
        "use_model",
        "model_attributes",
        "generation_count",
        "dimensions",
        "seed",
        "sampling",
        "negative_prompt",
        "category",
    }
)


class SchemaError(ValueError):
    """The category schema file is invalid; the message names the path of the bad entry."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class CategorySchema:
    raw: dict[str, Any]

    @property
    def categories(self) -> list[str]:
        return sorted(k for k in self.raw if k not in RESERVED_KEYS and not k.startswith("x_"))

    def has_category(self, category: str) -> bool:
        return category in self.categories

    def attributes(self, category: str) -> dict[str, list[str]]:
        """Attribute name -> allowed options, in file order."""
        return dict(self.raw[category])

    def model_attributes(self) -> dict[str, list[str]]:
        return {name: list(self.raw["model_attributes"][name]) for name in MODEL_ATTRIBUTE_NAMES}

    def backgrounds(self, category: str, *, use_model: bool) -> list[str]:
        pools = self.raw["background_mapping"][category]
        return list(pools["human_backgrounds" if use_model else "no_human_backgrounds"])

    def extension(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)


def _json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def validate_schema_document(document: Any) -> CategorySchema:
    """Check a parsed schema document; raise SchemaError naming the first bad entry."""
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA_OF_SCHEMA_PATH.read_text()))
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise SchemaError(_json_path(first.absolute_path), first.message)
    schema = CategorySchema(document)
    for category in schema.categories:
        if category not in document["background_mapping"]:
            raise SchemaError(
                f"$.background_mapping.{category}",
                f"category '{category}' has no background pools",
            )
        clash = set(document[category]) & RESERVED_ATTRIBUTE_NAMES
        if clash:
            name = sorted(clash)[0]
            raise SchemaError(
                f"$.{category}.{name}", f"'{name}' is reserved and cannot be a category attribute"
            )
    return schema


def load_category_schema(path: str | Path | None = None) -> CategorySchema:
    """Load and validate the schema file.

    Default: the shipped bulkgen_pipeline/schemas/category_metadata_schema.json.
    """
    file = Path(path) if path is not None else DEFAULT_SCHEMA_PATH
    return _load_cached(str(file.resolve()), file.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _load_cached(path: str, _mtime_ns: int) -> CategorySchema:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}:{exc.lineno}:{exc.colno}", f"not valid JSON: {exc.msg}") from exc
    return validate_schema_document(document)

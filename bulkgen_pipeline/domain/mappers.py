"""The seed's mappers: which values the user fixed, and which options a `__RANDOM__` draws from.

Each mapper splits its part of the config into fixed values (kept exactly) and random
dimensions (name, options). The resolution engine draws all random dimensions jointly, so that
uniqueness holds across the whole combination, not per mapper. Each mapper can also resolve on
its own (`resolve_*`), as the seed's API does.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from .presets import RANDOM, is_random
from .sampling import SAMPLERS
from .schema import MODEL_ATTRIBUTE_NAMES, CategorySchema

Dimension = tuple[str, list[str]]


class _Mapper:
    def split(self, config: Mapping[str, Any]) -> tuple[dict[str, Any], list[Dimension]]:
        raise NotImplementedError

    def _resolve_alone(
        self, config: Mapping[str, Any], generation_count: int, rng: random.Random | None
    ) -> list[dict[str, Any]]:
        fixed, dimensions = self.split(config)
        draw = SAMPLERS["unique"].draw(
            [len(options) for _, options in dimensions], generation_count, rng or random.Random(0)
        )
        return [
            {
                **fixed,
                **{name: options[i] for (name, options), i in zip(dimensions, combo, strict=True)},
            }
            for combo in draw.combinations
        ]


class AttributeResolver(_Mapper):
    """Category attributes (type, material, size…); a missing attribute counts as random."""

    def __init__(self, category: str, schema: CategorySchema):
        self.category = category
        self.options = schema.attributes(category)

    def get_possible_values(self, attribute: str) -> list[str]:
        return list(self.options[attribute])

    def split(self, config: Mapping[str, Any]) -> tuple[dict[str, Any], list[Dimension]]:
        fixed: dict[str, Any] = {}
        dimensions: list[Dimension] = []
        for name, options in self.options.items():
            value = config.get(name, RANDOM)
            if is_random(value):
                dimensions.append((name, list(options)))
            else:
                fixed[name] = value
        return fixed, dimensions

    def resolve_attributes(
        self, attributes: Mapping[str, Any], generation_count: int, rng: random.Random | None = None
    ) -> list[dict[str, Any]]:
        return self._resolve_alone(attributes, generation_count, rng)


class ModelMapper(_Mapper):
    """Human model attributes; with use_model false there are none at all."""

    def __init__(self, schema: CategorySchema):
        self.pools = schema.model_attributes()

    def split(self, config: Mapping[str, Any]) -> tuple[dict[str, Any], list[Dimension]]:
        if not config.get("use_model"):
            return {}, []
        attributes = config.get("model_attributes") or {}
        fixed: dict[str, Any] = {}
        dimensions: list[Dimension] = []
        for name in MODEL_ATTRIBUTE_NAMES:
            value = attributes.get(name, RANDOM)
            if is_random(value):
                dimensions.append((name, list(self.pools[name])))
            else:
                fixed[name] = value
        return fixed, dimensions

    def generate_model_combinations(
        self,
        model_usage: Mapping[str, Any],
        generation_count: int,
        rng: random.Random | None = None,
    ) -> list[dict[str, Any]]:
        return self._resolve_alone(model_usage, generation_count, rng)


class BackgroundMapper(_Mapper):
    """Scene settings: the human pool with a model, the product-only pool without."""

    def __init__(self, category: str, schema: CategorySchema):
        self.category = category
        self.schema = schema

    def split(self, config: Mapping[str, Any]) -> tuple[dict[str, Any], list[Dimension]]:
        background = config.get("background", RANDOM)
        if not is_random(background):
            return {"background": background}, []
        pool = self.schema.backgrounds(self.category, use_model=bool(config.get("use_model")))
        return {}, [("background", pool)]

    def generate_background_combinations(
        self, use_model: bool, generation_count: int, rng: random.Random | None = None
    ) -> list[str]:
        rows = self._resolve_alone({"use_model": use_model}, generation_count, rng)
        return [row["background"] for row in rows]

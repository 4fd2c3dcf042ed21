"""JSON Schemas of the documents bulkgen accepts (a preset, a prompt batch), for the API's
OpenAPI description: every document they allow is accepted.

The validators in `presets.py` and `batches.py` stay the rule. A few of their rules cannot be
said in JSON Schema (one colour weight per palette colour, `count` equal to the number of
`seeds`); the schemas then describe the simpler form, and say the rest in words.
"""

from __future__ import annotations

from typing import Any

from .batches import MAX_SEED
from .presets import MAX_GENERATIONS, RANDOM, ColorStrategy, Sampling
from .schema import CategorySchema
from .sizes import ASPECT_RATIOS, MAX_SIZES
from .text import NAME_MAX_LENGTH

# Names the server takes are 1-200 printable characters; described here as the printable
# Latin ones, with no space at either end.
_NAME_CHAR = "!-~\\u00a1-\\u00ac\\u00ae-\\u024f"
NAME = {
    "type": "string",
    "pattern": f"^[{_NAME_CHAR}](?:[ {_NAME_CHAR}]{{0,{NAME_MAX_LENGTH - 2}}}[{_NAME_CHAR}])?$",
    "description": f"1-{NAME_MAX_LENGTH} printable characters",
}
NO_NUL = "^[^\\u0000]*$"
# The image model and its parameters (checked against GET /api/models when a run starts).
MODEL_CHOICE = {
    "model": {
        "type": ["string", "null"],
        "minLength": 1,
        "maxLength": 200,
        "pattern": "^[^\\u0000]*$",
        "description": "An id of GET /api/models; null or absent: bulkgen chooses",
    },
    "steps": {"type": ["integer", "null"], "minimum": 1, "maximum": 1000},
    "guidance_scale": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
}
HEX_COLOUR = {"type": "string", "pattern": "^#?([0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$"}
SIDE = {"type": "integer", "minimum": 256, "maximum": 2048}
ONE_SIZE = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"width": SIDE, "height": SIDE},
            "required": ["width", "height"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"aspect_ratio": {"enum": list(ASPECT_RATIOS)}},
            "required": ["aspect_ratio"],
            "additionalProperties": False,
        },
    ],
}
DIMENSIONS = {
    "description": (
        "Exact `width` and `height` in pixels, or an `aspect_ratio`; or a list of up to "
        f"{MAX_SIZES} distinct sizes, every generation rendered in each"
    ),
    "oneOf": [
        ONE_SIZE,
        {
            "type": "array",
            "items": ONE_SIZE,
            "minItems": 1,
            "maxItems": MAX_SIZES,
            "uniqueItems": True,
        },
    ],
}
NEGATIVE_PROMPT = {"type": ["string", "null"], "maxLength": 2000, "pattern": NO_NUL}


def _choice(options: list[str]) -> dict[str, Any]:
    """One of `options` (matched case-insensitively by the server), or random."""
    return {"enum": [RANDOM, None, *options]}


def preset_json_schema(schema: CategorySchema) -> dict[str, Any]:
    """A preset in the canonical form, one variant per category (its attributes and their
    options; its backgrounds, which depend on `use_model`)."""
    variants = []
    for category in schema.categories:
        for use_model in (False, True):
            variants.append(_preset_variant(schema, category, use_model=use_model))
    return {
        "type": "object",
        "description": (
            "A preset: `name`, `category` and `config` (the category's attributes and the "
            "settings). Attribute values and backgrounds are matched case-insensitively; "
            f'`"{RANDOM}"` or null lets each image draw one. `color_weights` (one positive '
            "number per palette colour) is accepted too, as is the seed's flattened form "
            "(the config's keys beside `name` and `category`)."
        ),
        "anyOf": variants,
    }


def _preset_variant(schema: CategorySchema, category: str, *, use_model: bool) -> dict[str, Any]:
    config: dict[str, Any] = {
        name: _choice(options) for name, options in schema.attributes(category).items()
    }
    config.update(
        {
            "use_model": {"const": True} if use_model else {"const": False},
            "background": _choice(schema.backgrounds(category, use_model=use_model)),
            "color_palette": {"type": "array", "items": HEX_COLOUR, "maxItems": 50},
            "color_strategy": {"enum": [s.value for s in ColorStrategy]},
            "generation_count": {"type": "integer", "minimum": 1, "maximum": MAX_GENERATIONS},
            "dimensions": DIMENSIONS,
            # Up to 2**63 - 1 is taken; described up to where every JSON reader keeps it exact.
            "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": 2**53 - 1},
            "sampling": {"enum": [s.value for s in Sampling]},
            "negative_prompt": NEGATIVE_PROMPT,
            **MODEL_CHOICE,
        }
    )
    if use_model:
        config["model_attributes"] = {
            "type": "object",
            "properties": {
                name: _choice(options) for name, options in schema.model_attributes().items()
            },
            "additionalProperties": False,
        }
    return {
        "type": "object",
        "properties": {
            "name": NAME,
            "category": {"const": category},
            "description": {"type": ["string", "null"], "maxLength": 2000, "pattern": NO_NUL},
            "config": {
                "type": "object",
                "properties": config,
                "required": ["use_model"] if use_model else [],
                "additionalProperties": False,
            },
        },
        "required": ["name", "category", "config"],
        "additionalProperties": False,
    }


def prompt_batch_json_schema(beside: dict[str, Any] | None = None) -> dict[str, Any]:
    """An explicit prompt list, or one prompt in variations mode; `beside` adds properties
    the document may also hold (the API's webhook fields)."""
    seed = {"type": "integer", "minimum": 0, "maximum": MAX_SEED}
    prompt = {
        "type": "object",
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 4000, "pattern": NO_NUL},
            "negative_prompt": NEGATIVE_PROMPT,
            "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_SEED},
        },
        "required": ["text"],
        "additionalProperties": False,
    }
    common = {
        **(beside or {}),
        "name": NAME,
        "shared_settings": {
            "type": "object",
            "properties": {
                "dimensions": DIMENSIONS,
                "negative_prompt": NEGATIVE_PROMPT,
                **MODEL_CHOICE,
            },
            "additionalProperties": False,
        },
    }
    count = {"type": "integer", "minimum": 1, "maximum": MAX_GENERATIONS}
    seeds = {
        "type": "array",
        "items": seed,
        "minItems": 1,
        "maxItems": MAX_GENERATIONS,
        "uniqueItems": True,
    }
    return {
        "description": (
            "`prompts` (1-50 prompts, one image each), or `variations`: one prompt made "
            "`count` times, or once per seed of `seeds` (both may be given when they agree)."
        ),
        "oneOf": [
            {
                "type": "object",
                "properties": {
                    **common,
                    "prompts": {
                        "type": "array",
                        "items": prompt,
                        "minItems": 1,
                        "maxItems": MAX_GENERATIONS,
                    },
                },
                "required": ["prompts"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {
                    **common,
                    "variations": {
                        "type": "object",
                        "properties": {"prompt": prompt, "count": count, "seeds": seeds},
                        "required": ["prompt"],
                        "oneOf": [
                            {"required": ["count"], "not": {"required": ["seeds"]}},
                            {"required": ["seeds"], "not": {"required": ["count"]}},
                        ],
                        "additionalProperties": False,
                    },
                },
                "required": ["variations"],
                "additionalProperties": False,
            },
        ],
    }

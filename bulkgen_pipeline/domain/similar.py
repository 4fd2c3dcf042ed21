"""Similar images: a preset that keeps one generation's attributes, except those the merchant
wants varied (drawn again from the original preset's options, unique as usual), with new
seeds. Plain Python over the canonical preset document and the generation's resolved config.
"""

from __future__ import annotations

import copy
from typing import Any

from .errors import FieldProblem, InvalidInput
from .presets import MAX_GENERATIONS, RANDOM
from .schema import MODEL_ATTRIBUTE_NAMES, CategorySchema

MAX_VARY = 20


def variable_attributes(document: dict[str, Any], schema: CategorySchema) -> list[str]:
    """What a similar run may vary: the category's attributes, the model's (with a model),
    the background and the colour."""
    names = list(schema.attributes(document["category"]))
    if document["config"].get("use_model"):
        names += list(MODEL_ATTRIBUTE_NAMES)
    return [*names, "background", "color"]


def similar_preset(
    document: dict[str, Any],
    resolved: dict[str, Any],
    *,
    vary: list[str],
    count: int,
    schema: CategorySchema,
) -> dict[str, Any]:
    """The preset of a similar run: `document` (the original preset, canonical) with every
    attribute fixed to `resolved`'s value but those in `vary`, which stay as the original
    preset had them; `count` generations; no preset seed, so the new run's id gives new seeds.
    InvalidInput naming `vary.N` for a name that cannot vary."""
    allowed = variable_attributes(document, schema)
    problems = [
        FieldProblem(f"vary.{position}", f"'{name}' is not an attribute of this run", allowed)
        for position, name in enumerate(vary)
        if name not in allowed
    ]
    if len(vary) > MAX_VARY:
        problems.append(FieldProblem("vary", f"at most {MAX_VARY} names"))
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_GENERATIONS:
        problems.append(
            FieldProblem("count", f"must be a whole number from 1 to {MAX_GENERATIONS}")
        )
    if problems:
        raise InvalidInput(problems)
    similar = copy.deepcopy(document)
    config = similar["config"]
    for name in schema.attributes(document["category"]):
        if name not in vary:
            config[name] = resolved.get(name, RANDOM)
    if config.get("use_model"):
        model = dict(config.get("model_attributes") or {})
        for name in MODEL_ATTRIBUTE_NAMES:
            if name not in vary:
                model[name] = resolved.get(name, RANDOM)
        config["model_attributes"] = model
    if "background" not in vary:
        config["background"] = resolved.get("background", RANDOM)
    if "color" not in vary and resolved.get("color"):
        config["color_palette"] = [resolved["color"]]
        config.pop("color_weights", None)
    if resolved.get("dimensions"):
        # The image's own size: one tile of a run in several sizes asks for more of that one.
        config["dimensions"] = resolved["dimensions"]
    config["generation_count"] = count
    config["seed"] = None
    return similar

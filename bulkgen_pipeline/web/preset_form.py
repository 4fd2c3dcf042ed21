"""The preset form: a preset's values as form fields, the posted fields back as a preset
document, and the validator's problems placed next to the fields they name.

Nothing is validated here: the document goes to the same use case the API calls, and its
problems (the API's 422 `problems`) come back by field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from ..domain.errors import FieldProblem
from ..domain.kinds import DEFAULT_SIZE, config_sizes
from ..domain.presets import RANDOM, ColorStrategy, PresetConfig, Sampling
from ..domain.requests import preset_request
from ..domain.schema import MODEL_ATTRIBUTE_NAMES, CategorySchema
from ..domain.sizes import ASPECT_RATIOS

_INTEGER = re.compile(r"^-?\d{1,19}$")
# Posted with the new-preset form when its category changes: show the form again, save nothing.
CHANGE_CATEGORY = "change_category"


def form_number(raw: str | None) -> Any:
    """An integer when the text is one; otherwise the text itself, for the validator to name."""
    text = (raw or "").strip()
    return int(text) if _INTEGER.match(text) else text


def optional_number(raw: str | None) -> Any:
    return None if not (raw or "").strip() else form_number(raw)


def optional_text(raw: str | None) -> str | None:
    return raw if raw and raw.strip() else None


def optional_decimal(raw: str | None) -> Any:
    """A number when the text is one (7, 3.5); None when blank; else the text, for the
    validator to name."""
    text = (raw or "").strip()
    if not text:
        return None
    if _INTEGER.match(text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


@dataclass
class PresetForm:
    """What the form shows: values keyed by form field, and problems keyed the same way."""

    category: str
    values: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)
    other_errors: list[str] = field(default_factory=list)


def form_from_preset(name: str, category: str, config: dict[str, Any]) -> PresetForm:
    # Several sizes: the first in the size fields, the others in "more sizes".
    dimensions, *more = config_sizes(config)
    # Presets stored before nulls were left out carry `"aspect_ratio": null` beside an exact
    # size: only a ratio that is there makes the form's mode "aspect".
    aspect_ratio = dimensions.get("aspect_ratio")
    model = config.get("model_attributes") or {}
    values: dict[str, Any] = {
        "name": name,
        "use_model": bool(config.get("use_model")),
        "background": config.get("background") or RANDOM,
        "colors": list(config.get("color_palette") or []),
        "color_strategy": config.get("color_strategy") or ColorStrategy.cycling.value,
        "color_weights": ", ".join(f"{w:g}" for w in config.get("color_weights") or []),
        "generation_count": config.get("generation_count", 5),
        "dimension_mode": "exact" if aspect_ratio is None else "aspect",
        "width": dimensions.get("width") or DEFAULT_SIZE["width"],
        "height": dimensions.get("height") or DEFAULT_SIZE["height"],
        "aspect_ratio": aspect_ratio or "1:1",
        "more_sizes": ", ".join(size_text(size) for size in more),
        "sampling": config.get("sampling") or Sampling.unique.value,
        "seed": "" if config.get("seed") is None else config["seed"],
        "negative_prompt": config.get("negative_prompt") or "",
        # The image model (config.model; "" lets bulkgen choose) and its parameters.
        "image_model": config.get("model") or "",
        "steps": "" if config.get("steps") is None else config["steps"],
        "guidance_scale": "" if config.get("guidance_scale") is None else config["guidance_scale"],
    }
    for key, value in config.items():
        if key not in PresetConfig.model_fields and isinstance(value, str):
            values[f"attr.{key}"] = value
    for name_ in MODEL_ATTRIBUTE_NAMES:
        values[f"model.{name_}"] = model.get(name_) or RANDOM
    return PresetForm(category, values)


def blank_form(category: str) -> PresetForm:
    return form_from_preset("", category, {"generation_count": 5})


def dimensions_from_form(form: FormData) -> dict[str, Any] | list[dict[str, Any]]:
    """The size fields, plus "more sizes" (`16:9, 768x1024`): one size, or a list of them."""
    if form.get("dimension_mode") == "aspect":
        first: dict[str, Any] = {"aspect_ratio": str(form.get("aspect_ratio") or "")}
    else:
        first = {
            "width": form_number(str(form.get("width") or "")),
            "height": form_number(str(form.get("height") or "")),
        }
    more = [size_from_text(t) for t in str(form.get("more_sizes") or "").split(",") if t.strip()]
    return [first, *more] if more else first


def size_from_text(text: str) -> dict[str, Any]:
    """`16:9` is an aspect ratio, `768x1024` exact pixels; anything else goes to the validator
    as a ratio, which names what it takes."""
    text = text.strip()
    width, cross, height = text.lower().replace("×", "x").partition("x")
    if cross and width.strip().isdigit() and height.strip().isdigit():
        return {"width": int(width), "height": int(height)}
    return {"aspect_ratio": text}


def size_text(size: dict[str, Any]) -> str:
    """A size as "more sizes" shows it: the inverse of size_from_text."""
    ratio = size.get("aspect_ratio")
    return str(ratio) if ratio else f"{size.get('width')}x{size.get('height')}"


def size_problem_message(path: str, message: str) -> str:
    """A problem with one of several sizes says which (`dimensions.2.width` is the third)."""
    parts = path.split(".")
    at = parts.index("dimensions") if "dimensions" in parts else -1
    if 0 <= at < len(parts) - 1 and parts[at + 1].isdigit():
        return f"size {int(parts[at + 1]) + 1}: {message}"
    return message


def _weights(raw: str | None) -> Any:
    text = (raw or "").strip()
    if not text:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        return [float(p) for p in parts]
    except ValueError:
        return parts  # the validator names what is wrong with them


def preset_from_form(form: FormData, schema: CategorySchema) -> tuple[dict[str, Any], PresetForm]:
    """The preset document the form describes, and the form as posted (to show it again)."""
    category = str(form.get("category") or "")
    use_model = form.get("use_model") == "on"
    attributes = schema.attributes(category) if schema.has_category(category) else {}
    config: dict[str, Any] = {name: str(form.get(f"attr.{name}") or RANDOM) for name in attributes}
    config["use_model"] = use_model
    if use_model:
        config["model_attributes"] = {
            name: str(form.get(f"model.{name}") or RANDOM) for name in MODEL_ATTRIBUTE_NAMES
        }
    background_field = "background_model" if use_model else "background_product"
    config["background"] = str(form.get(background_field) or RANDOM)
    config["color_palette"] = [str(c) for c in form.getlist("color") if str(c).strip()]
    config["color_strategy"] = str(form.get("color_strategy") or "")
    weights = _weights(str(form.get("color_weights") or ""))
    if weights is not None:
        config["color_weights"] = weights
    config["generation_count"] = form_number(str(form.get("generation_count") or ""))
    config["dimensions"] = dimensions_from_form(form)
    config["sampling"] = str(form.get("sampling") or "")
    seed = optional_number(str(form.get("seed") or ""))
    if seed is not None:
        config["seed"] = seed
    negative = optional_text(str(form.get("negative_prompt") or ""))
    if negative is not None:
        config["negative_prompt"] = negative
    model_choice = {
        "model": optional_text(str(form.get("image_model") or "")),
        "steps": optional_number(str(form.get("steps") or "")),
        "guidance_scale": optional_decimal(str(form.get("guidance_scale") or "")),
    }
    config.update({name: value for name, value in model_choice.items() if value is not None})
    name = str(form.get("name") or "")
    document = {"name": name, "category": category, "config": config}

    shown = form_from_preset(name, category, {**config, "color_weights": None})
    shown.values["color_weights"] = str(form.get("color_weights") or "")
    shown.values["colors"] = config["color_palette"]
    shown.values["generation_count"] = form.get("generation_count") or ""
    shown.values["width"] = form.get("width") or ""
    shown.values["more_sizes"] = form.get("more_sizes") or ""
    shown.values["height"] = form.get("height") or ""
    shown.values["seed"] = form.get("seed") or ""
    shown.values["steps"] = form.get("steps") or ""
    shown.values["guidance_scale"] = form.get("guidance_scale") or ""
    return document, shown


def form_field(problem_field: str, attributes: list[str]) -> str | None:
    """The form field a validator's problem is about (None: the form as a whole)."""
    path = problem_field.removeprefix("config.")
    head = path.split(".", 1)[0]
    if path in ("name", "category"):
        return path
    if head == "model":
        return "image_model"
    if head == "model_attributes":
        rest = path.split(".")
        return f"model.{rest[1]}" if len(rest) > 1 else "use_model"
    if head in ("color_palette", "color_weights"):
        return head if head == "color_weights" else "color_palette"
    if head in attributes:
        return f"attr.{head}"
    if head in (
        "background",
        "color_strategy",
        "generation_count",
        "dimensions",
        "sampling",
        "seed",
        "negative_prompt",
        "use_model",
        "steps",
        "guidance_scale",
    ):
        return head
    return None


def place_problems(form: PresetForm, problems: list[FieldProblem], schema: CategorySchema) -> None:
    attributes = (
        list(schema.attributes(form.category)) if schema.has_category(form.category) else []
    )
    for problem in problems:
        target = form_field(problem.field, attributes)
        message = size_problem_message(problem.field, problem.message)
        if target is None:
            form.other_errors.append(f"{problem.field}: {message}")
        else:
            form.errors.setdefault(target, []).append(message)


def form_choices(
    schema: CategorySchema, category: str, models: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The selects' options for `category`; `models` is the deployment's model catalogue."""
    return {
        "models": models or [],
        "categories": schema.categories,
        "attributes": schema.attributes(category) if schema.has_category(category) else {},
        "model_attributes": schema.model_attributes(),
        "backgrounds_model": schema.backgrounds(category, use_model=True)
        if schema.has_category(category)
        else [],
        "backgrounds_product": schema.backgrounds(category, use_model=False)
        if schema.has_category(category)
        else [],
        "strategies": [s.value for s in ColorStrategy],
        "samplings": [s.value for s in Sampling],
        "aspect_ratios": list(ASPECT_RATIOS),
        "RANDOM": RANDOM,
    }


def random_space(name: str, category: str, config: dict[str, Any], schema: CategorySchema) -> int:
    """How many distinct combinations of the preset's random attributes exist."""
    request = preset_request(
        {"name": name, "category": category, "config": config},
        generation_count=1,
        schema=schema,
    )
    return request.resolve(run_seed="space", schema=schema).combination_space

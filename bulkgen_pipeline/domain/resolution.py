"""The one entry point: a validated preset and a run seed in, N resolved generations out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .colors import ColorMapper
from .mappers import AttributeResolver, BackgroundMapper, ModelMapper
from .presets import Preset
from .prompts import build_prompt
from .sampling import SAMPLERS, derive_seed, seeded_rng
from .schema import MODEL_ATTRIBUTE_NAMES, CategorySchema, load_category_schema
from .sizes import size_list
from .specs import GenerationSpec


@dataclass(frozen=True)
class ResolutionResult:
    generations: list[GenerationSpec]
    seed: int | str  # what seeded the run: the preset's seed, else the run id
    combination_space: int  # distinct combinations of the random attributes that exist
    distinct_combinations: int  # how many of them this run uses
    random_attributes: list[str]
    notes: list[str] = field(default_factory=list)

    @property
    def generation_count(self) -> int:
        """Generations, not images: a run in several sizes renders each generation k times."""
        return len({spec.prompt_generation for spec in self.generations})

    @property
    def space_exhausted(self) -> bool:
        return self.distinct_combinations < self.generation_count

    def summary(self) -> dict[str, Any]:
        sizes = list(dict.fromkeys(spec.size for spec in self.generations if spec.size))
        return {
            "seed": self.seed,
            "generation_count": self.generation_count,
            **({"sizes": sizes, "image_count": len(self.generations)} if sizes else {}),
            "random_attributes": self.random_attributes,
            "combination_space": self.combination_space,
            "distinct_combinations": self.distinct_combinations,
            "space_exhausted": self.space_exhausted,
            "notes": self.notes,
        }


def resolve_preset(
    preset: Preset,
    *,
    run_seed: int | str,
    schema: CategorySchema | None = None,
    generation_count: int | None = None,
) -> ResolutionResult:
    """Resolve every `__RANDOM__` of a validated preset (see `parse_preset`) per generation.

    User values are never changed. The preset's own seed wins over `run_seed`, so a preset with
    a seed resolves identically in every run; without one, the run id makes re-runs identical.
    """
    schema = schema or load_category_schema()
    config = preset.config
    count = generation_count or config.generation_count
    seed: int | str = config.seed if config.seed is not None else run_seed
    fixed, dimensions = _fixed_and_random(preset, schema)
    draw = SAMPLERS[config.sampling.value].draw(
        [len(options) for _, options in dimensions], count, seeded_rng(seed, "attributes")
    )
    colours = ColorMapper(config.color_strategy).distribute_colors(
        config.color_palette, count, seeded_rng(seed, "colors"), config.color_weights
    )
    colour_is_drawn = len(set(config.color_palette)) > 1
    user_specified = _user_specified(preset, fixed, count)
    attribute_order = list(schema.attributes(preset.category))

    generations = []
    for index, (combination, colour) in enumerate(
        zip(draw.combinations, colours, strict=True), start=1
    ):
        drawn = {
            name: options[i] for (name, options), i in zip(dimensions, combination, strict=True)
        }
        resolved = _resolved_config(preset, attribute_order, {**fixed, **drawn}, colour)
        randomly_selected: dict[str, Any] = dict(drawn)
        if colour_is_drawn:
            randomly_selected["color"] = colour
        generations.append(
            GenerationSpec(
                generation=index,
                prompt=build_prompt(preset.category, resolved, schema=schema),
                seed=derive_seed(seed, "image", index),
                config=resolved,
                attribute_resolution=_attribute_resolution(randomly_selected, user_specified),
                dimensions=size_list(config.dimensions)[0],
                negative_prompt=config.negative_prompt,
                key_attributes=_key_attributes(resolved, attribute_order),
                model_choice=config.chosen(),
            )
        )
    return ResolutionResult(
        generations=generations,
        seed=seed,
        combination_space=draw.space,
        distinct_combinations=draw.distinct,
        random_attributes=[name for name, _ in dimensions],
        notes=_repeat_notes(draw.space, draw.distinct, count),
    )


def _fixed_and_random(
    preset: Preset, schema: CategorySchema
) -> tuple[dict[str, Any], list[tuple[str, list[str]]]]:
    """The preset's fixed values, and the random ones as (name, options) dimensions to draw
    from: the category's attributes, the model's, the background."""
    config = preset.config
    flat = {
        **config.attributes,
        "use_model": config.use_model,
        "model_attributes": config.model_attributes.model_dump(),
        "background": config.background,
    }
    mappers = [
        AttributeResolver(preset.category, schema),
        ModelMapper(schema),
        BackgroundMapper(preset.category, schema),
    ]
    fixed: dict[str, Any] = {}
    dimensions: list[tuple[str, list[str]]] = []
    for mapper in mappers:
        mapper_fixed, mapper_dimensions = mapper.split(flat)
        fixed.update(mapper_fixed)
        dimensions.extend(mapper_dimensions)
    return fixed, dimensions


def _resolved_config(
    preset: Preset, attribute_order: list[str], values: dict[str, Any], colour: str | None
) -> dict[str, Any]:
    """One generation's whole configuration, every value final, in the category's order."""
    config = preset.config
    resolved: dict[str, Any] = {"category": preset.category}
    resolved.update({name: values[name] for name in attribute_order})
    resolved["use_model"] = config.use_model
    if config.use_model:
        resolved.update({name: values[name] for name in MODEL_ATTRIBUTE_NAMES})
    resolved["background"] = values["background"]
    resolved["color"] = colour
    resolved["dimensions"] = size_list(config.dimensions)[0]  # each image: its own size
    return resolved


def _attribute_resolution(
    randomly_selected: dict[str, Any], user_specified: dict[str, Any]
) -> dict[str, Any]:
    """Which values of a generation were drawn and which the merchant set."""
    return {
        "randomly_selected": randomly_selected,
        "user_specified": user_specified,
        "total_random_count": len(randomly_selected),
        "total_user_specified_count": len(user_specified),
    }


def _repeat_notes(space: int, distinct: int, count: int) -> list[str]:
    if distinct >= count:
        return []
    return [
        f"Only {space} distinct combination(s) of the random attributes exist for "
        f"{count} generations; {count - distinct} generation(s) repeat a combination "
        "and differ only by colour and image seed."
    ]


def _user_specified(preset: Preset, fixed: dict[str, Any], count: int) -> dict[str, Any]:
    config = preset.config
    specified: dict[str, Any] = dict(fixed)
    specified["use_model"] = config.use_model
    if config.color_palette:
        specified["color_palette"] = list(config.color_palette)
    specified["generation_count"] = count
    specified.update(config.chosen())  # the image model and its parameters, when chosen
    return specified


def _key_attributes(resolved: dict[str, Any], attribute_order: list[str]) -> dict[str, str]:
    """What the preview renderer writes on the image: enough to tell generations apart."""
    keys = {name: str(resolved[name]) for name in attribute_order[:4]}
    if resolved.get("use_model"):
        keys["model"] = " ".join(str(resolved[n]) for n in MODEL_ATTRIBUTE_NAMES)
    keys["background"] = str(resolved["background"])
    if resolved.get("color"):
        keys["color"] = str(resolved["color"])
    return keys

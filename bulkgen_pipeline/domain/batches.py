"""Explicit-prompt batches (the batch plan): a list of prompts, or one prompt in variations mode.

They run through the same pipeline as presets and yield the same GenerationSpecs; nothing is
drawn from the category schema, only seeds the user did not give.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import PresetValidationError, problems_from_pydantic
from .kinds import DEFAULT_BATCH_NAME
from .presets import MAX_GENERATIONS, ModelChoice
from .resolution import ResolutionResult
from .sampling import derive_seed
from .sizes import Sizes, default_size, size_json, size_list
from .specs import GenerationSpec
from .text import FreeText, Name

BATCH_CATEGORY = "custom"  # the object-store folder explicit batches are filed under


MAX_SEED = 2**31 - 1
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, strict=True)]


class PromptItem(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    text: FreeText = Field(min_length=1, max_length=4000)
    negative_prompt: FreeText | None = Field(default=None, max_length=2000)
    seed: Seed | None = None


class SharedSettings(ModelChoice):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    dimensions: Sizes = Field(default_factory=default_size)
    negative_prompt: FreeText | None = Field(default=None, max_length=2000)


class Variations(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    prompt: PromptItem
    count: int | None = Field(default=None, ge=1, le=MAX_GENERATIONS, strict=True)
    seeds: list[Seed] | None = Field(default=None, min_length=1, max_length=MAX_GENERATIONS)

    @model_validator(mode="after")
    def _count_or_seeds(self) -> Variations:
        if self.seeds is not None and self.count is not None and self.count != len(self.seeds):
            raise ValueError(f"count is {self.count} but {len(self.seeds)} seeds were given")
        if self.seeds is None and self.count is None:
            raise ValueError("give count, seeds, or both")
        if self.seeds is not None and len(set(self.seeds)) != len(self.seeds):
            raise ValueError("seeds must be distinct: equal seeds give equal images")
        return self

    @property
    def size(self) -> int:
        return len(self.seeds) if self.seeds is not None else int(self.count or 0)


class PromptBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: Name = DEFAULT_BATCH_NAME
    prompts: list[PromptItem] | None = Field(default=None, min_length=1, max_length=MAX_GENERATIONS)
    variations: Variations | None = None
    shared_settings: SharedSettings = Field(default_factory=SharedSettings)

    @model_validator(mode="after")
    def _one_mode(self) -> PromptBatch:
        if (self.prompts is None) == (self.variations is None):
            raise ValueError("give either prompts (a list) or variations (one prompt, N seeds)")
        return self

    def canonical(self) -> dict[str, Any]:
        """The JSON form a job's snapshot keeps: each size in the one form it was given."""
        document = self.model_dump(mode="json")
        document["shared_settings"]["dimensions"] = size_json(self.shared_settings.dimensions)
        return document

    @property
    def mode(self) -> str:
        return "prompts" if self.prompts is not None else "variations"

    @property
    def generation_count(self) -> int:
        return len(self.prompts) if self.prompts is not None else self.variations.size  # type: ignore[union-attr]


def parse_prompt_batch(data: Any) -> PromptBatch:
    try:
        return PromptBatch.model_validate(data)
    except ValidationError as exc:
        raise PresetValidationError(problems_from_pydantic(exc)) from None


def resolve_prompt_batch(batch: PromptBatch, *, run_seed: int | str) -> ResolutionResult:
    items = _expand(batch)
    # Several sizes are rendered from these generations (sizes.render_in_sizes): each carries
    # the first until then.
    dimensions = size_list(batch.shared_settings.dimensions)[0]
    generations = []
    for index, item in enumerate(items, start=1):
        seed_given = item.seed is not None
        seed = item.seed if seed_given else derive_seed(run_seed, "image", index)
        negative = item.negative_prompt or batch.shared_settings.negative_prompt
        user_specified: dict[str, Any] = {"prompt": item.text, "mode": batch.mode}
        if negative:
            user_specified["negative_prompt"] = negative
        if seed_given:
            user_specified["seed"] = seed
        user_specified.update(batch.shared_settings.chosen())
        randomly_selected = {} if seed_given else {"seed": seed}
        generations.append(
            GenerationSpec(
                generation=index,
                prompt=item.text,
                seed=int(seed),  # type: ignore[arg-type]
                config={
                    "category": BATCH_CATEGORY,
                    "mode": batch.mode,
                    "prompt": item.text,
                    "negative_prompt": negative,
                    "dimensions": dimensions,
                },
                attribute_resolution={
                    "randomly_selected": randomly_selected,
                    "user_specified": user_specified,
                    "total_random_count": len(randomly_selected),
                    "total_user_specified_count": len(user_specified),
                },
                dimensions=dimensions,
                negative_prompt=negative,
                key_attributes={"prompt": item.text[:60], "seed": str(seed)},
                model_choice=batch.shared_settings.chosen(),
            )
        )
    distinct = len({(g.prompt, g.seed) for g in generations})
    return ResolutionResult(
        generations=generations,
        seed=run_seed,
        combination_space=distinct,
        distinct_combinations=distinct,
        random_attributes=["seed"]
        if any(g.attribute_resolution["randomly_selected"] for g in generations)
        else [],
        notes=[] if distinct == len(generations) else ["Some prompts repeat with the same seed."],
    )


def _expand(batch: PromptBatch) -> list[PromptItem]:
    if batch.prompts is not None:
        return list(batch.prompts)
    variations = batch.variations
    assert variations is not None
    if variations.seeds is not None:
        return [variations.prompt.model_copy(update={"seed": s}) for s in variations.seeds]
    return [variations.prompt.model_copy(update={"seed": None}) for _ in range(variations.size)]

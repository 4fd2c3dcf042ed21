"""Image sizes: one `dimensions` (exact pixels or an aspect ratio), or a list of up to four.

With several sizes every generation is rendered in each, with the same prompt and seed: a run
of N generations in k sizes makes N×k images. Each image is an item of its own, numbered
generation by generation ((g-1)·k + position + 1), and named by generation and size
(`generation_3_16x9`). With one size nothing changes: image i is generation i, named
`generation_i`, exactly as before several sizes existed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from .errors import UNION_TAG
from .kinds import DEFAULT_SIZE
from .layout import image_index, size_label
from .specs import GenerationSpec

MAX_SIZES = 4
# The fixed ratios every provider we route to can honour.
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")


class Dimensions(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    width: int | None = Field(default=None, ge=256, le=2048, strict=True)
    height: int | None = Field(default=None, ge=256, le=2048, strict=True)
    aspect_ratio: str | None = None

    @field_validator("aspect_ratio")
    @classmethod
    def _known_ratio(cls, value: str | None) -> str | None:
        if value is not None and value not in ASPECT_RATIOS:
            raise ValueError(
                f"'{value}' is not a supported aspect ratio: {', '.join(ASPECT_RATIOS)}"
            )
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Dimensions:
        exact = self.width is not None or self.height is not None
        if exact and self.aspect_ratio is not None:
            raise ValueError("give either width and height, or aspect_ratio, not both")
        if exact and (self.width is None or self.height is None):
            raise ValueError("exact dimensions need both width and height")
        if not exact and self.aspect_ratio is None:
            raise ValueError("give width and height, or aspect_ratio")
        return self

    def as_dict(self) -> dict[str, Any]:
        if self.aspect_ratio is not None:
            return {"aspect_ratio": self.aspect_ratio}
        return {"width": self.width, "height": self.height}


def _distinct(sizes: list[Dimensions]) -> list[Dimensions]:
    for position, size in enumerate(sizes):
        earlier = sizes.index(size)
        if earlier != position:
            raise ValueError(
                f"dimensions.{position} repeats dimensions.{earlier} "
                f"({size_label(size.as_dict())}): each size is made once"
            )
    return sizes


def _form(value: Any) -> str | None:
    if isinstance(value, list):
        return f"{UNION_TAG}several"
    if isinstance(value, dict | Dimensions):
        return f"{UNION_TAG}one"
    return None  # neither: the Discriminator's own message


Sizes = Annotated[
    Annotated[Dimensions, Tag(f"{UNION_TAG}one")]
    | Annotated[
        Annotated[
            list[Dimensions], Field(min_length=1, max_length=MAX_SIZES), AfterValidator(_distinct)
        ],
        Tag(f"{UNION_TAG}several"),
    ],
    Discriminator(
        _form,
        custom_error_type="dimensions",
        custom_error_message=(
            "must be one size ({width, height} or {aspect_ratio}) or a list of up to "
            f"{MAX_SIZES} sizes"
        ),
    ),
]
"""`dimensions` as a preset or batch takes it: one size, or a list of 1–4 distinct ones."""


def default_size() -> Dimensions:
    return Dimensions.model_validate(DEFAULT_SIZE)


def size_list(sizes: Dimensions | list[Dimensions]) -> list[dict[str, Any]]:
    """Every size asked for, in order, as plain dicts (one for a single size)."""
    if isinstance(sizes, Dimensions):
        return [sizes.as_dict()]
    return [size.as_dict() for size in sizes]


def size_json(sizes: Dimensions | list[Dimensions]) -> dict[str, Any] | list[dict[str, Any]]:
    """The canonical form, as given: one object, or a list."""
    if isinstance(sizes, Dimensions):
        return sizes.as_dict()
    return size_list(sizes)


def render_in_sizes(
    generations: Sequence[GenerationSpec], sizes: Sequence[Mapping[str, Any]]
) -> list[GenerationSpec]:
    """The images to make: each generation once per size, with its prompt and seed. With one
    size, the generations themselves."""
    if len(sizes) <= 1:
        return list(generations)
    images = []
    for spec in generations:
        for position, size in enumerate(sizes):
            images.append(
                replace(
                    spec,
                    generation=image_index(spec.generation, position, len(sizes)),
                    dimensions=dict(size),
                    config={**spec.config, "dimensions": dict(size)},
                    size=size_label(size),
                    base_generation=spec.generation,
                )
            )
    return images

"""What one generation is once resolved: the unit the providers, the ZIP and analytics share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GenerationSpec:
    generation: int  # 1-based, as in generation_{i}.png
    prompt: str
    seed: int
    config: dict[str, Any]  # fully resolved: every attribute has its final value
    attribute_resolution: dict[str, Any]
    dimensions: dict[str, Any]  # {"width", "height"} or {"aspect_ratio"}
    negative_prompt: str | None = None
    key_attributes: dict[str, str] = field(default_factory=dict)
    # The model the merchant chose and its parameters ({} : the router chooses).
    model_choice: dict[str, Any] = field(default_factory=dict)
    # A run in several sizes makes each generation once per size: then `generation` numbers
    # the image (the item), `base_generation` is the generation it renders and `size` its
    # label (domain.sizes). Both None in a one-size run, where the image is the generation.
    size: str | None = None
    base_generation: int | None = None

    @property
    def prompt_generation(self) -> int:
        """The generation (prompt, seed, attributes) this image renders."""
        return self.base_generation if self.base_generation is not None else self.generation

    def to_dict(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "config": self.config,
            "attribute_resolution": self.attribute_resolution,
            "dimensions": self.dimensions,
            "key_attributes": self.key_attributes,
            **({"model_choice": self.model_choice} if self.model_choice else {}),
            **(
                {"size": self.size, "base_generation": self.base_generation}
                if self.size is not None
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationSpec:
        return cls(
            generation=data["generation"],
            prompt=data["prompt"],
            seed=data["seed"],
            config=data["config"],
            attribute_resolution=data["attribute_resolution"],
            dimensions=data["dimensions"],
            negative_prompt=data.get("negative_prompt"),
            key_attributes=data.get("key_attributes", {}),
            model_choice=data.get("model_choice", {}),
            size=data.get("size"),
            base_generation=data.get("base_generation"),
        )

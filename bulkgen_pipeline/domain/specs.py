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
        )

"""The model catalogue: what each image model the enabled providers serve can be asked for.

A merchant chooses a model by its id (a preset's `config.model`, a batch's
`shared_settings.model`) and may then set `steps` and `guidance_scale` within the model's
ranges. Each provider says which models it serves (`ImageProvider.models()`); the router's
catalogue is the union over the enabled providers, so a model is offered only when a provider
that serves it is on. Credits per image are 1 unless the operator says more
(`BULKGEN_MODEL_CREDITS`, e.g. `black-forest-labs/flux-1.1-pro=2`).

Plain Python: no Dagster, FastAPI or SQL here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..domain.sizes import ASPECT_RATIOS


@dataclass(frozen=True)
class ParameterRange:
    """The values a model takes for one numeric parameter."""

    low: float
    high: float
    default: float
    integer: bool = False

    def problem(self, value: float) -> str | None:
        if self.integer and (isinstance(value, bool) or not isinstance(value, int)):
            return f"must be a whole number from {self._show(self.low)} to {self._show(self.high)}"
        if not self.low <= value <= self.high:
            return f"must be from {self._show(self.low)} to {self._show(self.high)}, got {value}"
        return None

    def _show(self, value: float) -> str:
        return str(int(value)) if self.integer or float(value).is_integer() else str(value)

    def as_json(self) -> dict[str, Any]:
        cast = int if self.integer else float
        return {"min": cast(self.low), "max": cast(self.high), "default": cast(self.default)}


@dataclass(frozen=True)
class ExactSizes:
    """Exact pixel sizes a model renders: each side from `low` to `high` (the model rounds to
    multiples of `step`; bulkgen resizes to the exact size asked for)."""

    low: int
    high: int
    step: int = 1

    def accepts(self, width: int, height: int) -> bool:
        return all(self.low <= side <= self.high for side in (width, height))

    def as_json(self) -> dict[str, int]:
        return {"min_side": self.low, "max_side": self.high, "step": self.step}


@dataclass(frozen=True)
class ModelSpec:
    id: str
    provider: str
    description: str
    exact_sizes: ExactSizes | None = None
    aspect_ratios: tuple[str, ...] = ()
    negative_prompt: bool = False
    steps: ParameterRange | None = None
    guidance_scale: ParameterRange | None = None
    credits_per_image: int = 1
    # Ratio → the pixels the model renders it at, when it says (for the "largest size").
    aspect_long_side: int = 1024

    @property
    def largest_size(self) -> dict[str, int]:
        if self.exact_sizes is not None:
            return {"width": self.exact_sizes.high, "height": self.exact_sizes.high}
        return {"width": self.aspect_long_side, "height": self.aspect_long_side}

    def size_problem(self, size: Mapping[str, Any]) -> str | None:
        """Why this model cannot render `size` ({width, height} or {aspect_ratio}); None when
        it can."""
        ratio = size.get("aspect_ratio")
        if ratio is not None:
            if ratio in self.aspect_ratios:
                return None
            offered = ", ".join(self.aspect_ratios) or "none: give width and height"
            return f"model {self.id} does not render aspect ratio {ratio} (it takes: {offered})"
        width, height = int(size.get("width") or 0), int(size.get("height") or 0)
        if self.exact_sizes is None:
            return (
                f"model {self.id} takes aspect ratios only ({', '.join(self.aspect_ratios)}), "
                "not exact sizes"
            )
        if not self.exact_sizes.accepts(width, height):
            return (
                f"model {self.id} renders each side from {self.exact_sizes.low} to "
                f"{self.exact_sizes.high} px, got {width}x{height}"
            )
        return None

    def parameter_problems(
        self, steps: Any = None, guidance_scale: Any = None, negative_prompt: Any = None
    ) -> dict[str, str]:
        """{parameter: problem} for the parameters given that this model does not take."""
        problems: dict[str, str] = {}
        for name, value, allowed in (
            ("steps", steps, self.steps),
            ("guidance_scale", guidance_scale, self.guidance_scale),
        ):
            if value is None:
                continue
            if allowed is None:
                problems[name] = f"model {self.id} does not take {name}"
            elif (problem := allowed.problem(value)) is not None:
                problems[name] = f"{problem} for model {self.id}"
        if negative_prompt and not self.negative_prompt:
            problems["negative_prompt"] = f"model {self.id} does not take a negative prompt"
        return problems

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "provider": self.provider,
            "description": self.description,
            "exact_sizes": self.exact_sizes.as_json() if self.exact_sizes else None,
            "aspect_ratios": list(self.aspect_ratios),
            "largest_size": self.largest_size,
            "negative_prompt": self.negative_prompt,
            "steps": self.steps.as_json() if self.steps else None,
            "guidance_scale": self.guidance_scale.as_json() if self.guidance_scale else None,
            "credits_per_image": self.credits_per_image,
        }


# What the well-known models take, beyond their sizes (the providers' published parameters).
KNOWN_PARAMETERS: dict[str, dict[str, ParameterRange]] = {
    "black-forest-labs/flux-schnell": {"steps": ParameterRange(1, 4, 4, integer=True)},
    "black-forest-labs/flux-dev": {
        "steps": ParameterRange(1, 50, 28, integer=True),
        "guidance_scale": ParameterRange(0, 10, 3),
    },
}


def with_known_parameters(spec: ModelSpec) -> ModelSpec:
    known = KNOWN_PARAMETERS.get(spec.id, {})
    return replace(
        spec,
        steps=known.get("steps", spec.steps),
        guidance_scale=known.get("guidance_scale", spec.guidance_scale),
    )


@dataclass(frozen=True)
class ModelCatalogue:
    """The models of the enabled providers, in the router's order; an id appears once (the
    first provider that serves it)."""

    models: tuple[ModelSpec, ...] = field(default_factory=tuple)

    @classmethod
    def of(
        cls, specs: Iterable[ModelSpec], credits: Mapping[str, int] | None = None
    ) -> ModelCatalogue:
        seen: dict[str, ModelSpec] = {}
        for spec in specs:
            if spec.id not in seen:
                priced = (credits or {}).get(spec.id)
                seen[spec.id] = replace(spec, credits_per_image=priced) if priced else spec
        return cls(tuple(seen.values()))

    @property
    def ids(self) -> list[str]:
        return [spec.id for spec in self.models]

    def get(self, model_id: str) -> ModelSpec | None:
        return next((spec for spec in self.models if spec.id == model_id), None)

    def as_json(self) -> list[dict[str, Any]]:
        return [spec.as_json() for spec in self.models]


def parse_model_credits(value: str) -> dict[str, int]:
    """`model=credits,model=credits` (BULKGEN_MODEL_CREDITS) → {model: credits}."""
    credits: dict[str, int] = {}
    for part in value.split(","):
        if not part.strip():
            continue
        model, sep, amount = part.rpartition("=")
        model = model.strip()
        if not sep or not model or not amount.strip().isdigit() or not 1 <= int(amount) <= 1000:
            raise ValueError(
                f"{part.strip()!r} is not model=credits with credits a whole number from 1 to 1000"
            )
        credits[model] = int(amount)
    return credits


def ordered_ratios(ratios: Iterable[str]) -> tuple[str, ...]:
    """A model's ratios in the presets' order, any others after them."""
    offered = set(ratios)
    known = [ratio for ratio in ASPECT_RATIOS if ratio in offered]
    return (*known, *sorted(offered - set(known)))

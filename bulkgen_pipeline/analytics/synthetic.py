"""Synthetic analytics.json documents with known draws, biases and failures.

For the statistics tests and the benchmark: they have the shape `build_analytics` writes (a
test holds them to it), draw with the real samplers, and can be told to over-draw a value or to
fail a value more often, so that the report must find exactly that.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..domain.colors import ColorMapper
from ..domain.layout import RunLayout
from ..domain.mappers import AttributeResolver, BackgroundMapper, ModelMapper
from ..domain.sampling import SAMPLERS
from ..domain.schema import CategorySchema, load_category_schema
from ..inspection.similarity import DEFAULT_THRESHOLD
from ..runs.packaging import ANALYTICS_VERSION, AnalyticsOutcome, RunContext, random_pools

PROVIDERS = (("replicate", "flux-1.1-pro", 6.0), ("google", "imagen-4", 4.0))


@dataclass
class SyntheticPlan:
    category: str = "bags"
    generation_count: int = 20
    sampling: str = "unique"
    use_model: bool = True
    fixed: dict[str, str] = field(default_factory=dict)  # attribute -> the merchant's value
    palette: list[str] = field(default_factory=lambda: ["#FF0000", "#000000", "#FFFFFF"])
    color_strategy: str = "random"
    color_weights: list[float] | None = None
    # attribute -> (value, share): that share of the attribute's draws is forced to the value.
    bias: dict[str, tuple[str, float]] = field(default_factory=dict)
    failure_rate: float = 0.02
    # (attribute, value) -> failure probability of generations showing that value.
    failing_values: dict[tuple[str, str], float] = field(default_factory=dict)
    seed: int | None = None  # a preset seed: every run of the preset replays one draw
    # Attributes the pictures ignore: two generations differing in these alone look alike.
    unseen: tuple[str, ...] = ()
    colour_miss: float = 0.05  # share of images that do not show the colour they asked for

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            **self.fixed,
            "use_model": self.use_model,
            "model_attributes": {
                k: self.fixed.get(k, "__RANDOM__")
                for k in ("model_sex", "model_age", "model_ethnicity")
            },
            "background": self.fixed.get("background", "__RANDOM__"),
            "color_palette": self.palette,
            "color_strategy": self.color_strategy,
            "color_weights": self.color_weights,
            "generation_count": self.generation_count,
            "sampling": self.sampling,
            "seed": self.seed,
        }
        return config


def synthetic_analytics(
    plan: SyntheticPlan,
    rng: random.Random,
    *,
    run_id: str | None = None,
    user_id: str = "user-1",
    preset_id: str = "preset-1",
    preset_name: str = "Synthetic preset",
    created_at: datetime | None = None,
    schema: CategorySchema | None = None,
) -> dict[str, Any]:
    """One run's analytics.json as build_analytics writes it."""
    schema = schema or load_category_schema()
    run_id = run_id or str(uuid.UUID(int=rng.getrandbits(128)))
    config = plan.config()
    layout = RunLayout(user_id, plan.category, run_id, preset_id)
    run = RunContext(layout, preset_name, config)
    fixed: dict[str, Any] = {}
    dimensions: list[tuple[str, list[str]]] = []
    for mapper in (
        AttributeResolver(plan.category, schema),
        ModelMapper(schema),
        BackgroundMapper(plan.category, schema),
    ):
        mapper_fixed, mapper_dimensions = mapper.split(config)
        fixed.update(mapper_fixed)
        dimensions.extend(mapper_dimensions)
    n = plan.generation_count
    draw_rng = random.Random(plan.seed) if plan.seed is not None else rng
    draw = SAMPLERS[plan.sampling].draw([len(o) for _, o in dimensions], n, draw_rng)
    colours = ColorMapper(plan.color_strategy).distribute_colors(
        plan.palette, n, draw_rng, plan.color_weights
    )
    colour_is_drawn = len(set(plan.palette)) > 1
    user_specified = {**fixed, "use_model": plan.use_model, "generation_count": n}
    if plan.palette:
        user_specified["color_palette"] = list(plan.palette)
    provider, model, latency = PROVIDERS[rng.randrange(len(PROVIDERS))]
    results = []
    for index, (combination, colour) in enumerate(zip(draw.combinations, colours, strict=True)):
        drawn = {
            name: options[i] for (name, options), i in zip(dimensions, combination, strict=True)
        }
        for name, (value, share) in plan.bias.items():
            if name in drawn and rng.random() < share:
                drawn[name] = value
        values = {**fixed, **drawn, "use_model": plan.use_model, "color": colour}
        randomly: dict[str, str | None] = dict(drawn)
        if colour_is_drawn:
            randomly["color"] = colour
        failure_p = max(
            [plan.failure_rate]
            + [p for (a, v), p in plan.failing_values.items() if values.get(a) == v]
        )
        failed = rng.random() < failure_p
        attempts = 1 + (rng.random() < 0.1)
        outcome = AnalyticsOutcome.FAILED if failed else AnalyticsOutcome.SUCCEEDED
        results.append(
            {
                "generation_index": index + 1,
                "prompt_text": "A product photo of a "
                + " ".join(str(v) for v in values.values() if v is not None),
                "resolved_attributes": values,
                "attribute_resolution": {
                    "randomly_selected": randomly,
                    "user_specified": user_specified,
                    "total_random_count": len(randomly),
                    "total_user_specified_count": len(user_specified),
                },
                "preset_metadata": {"preset_name": preset_name, "category": plan.category},
                "status": "failed" if failed else "succeeded",
                "outcome": outcome.value,
                "failure_reason": "replicate safety filter blocked the image: flagged"
                if failed
                else None,
                "provider": None if failed else provider,
                "model": None if failed else model,
                "attempts": attempts,
                "latency_s": None if failed else round(rng.lognormvariate(0, 0.3) * latency, 3),
                "seed": rng.getrandbits(31),
                "s3_zip_path": f"{layout.zip_key}",
                "image_filename_in_zip": None if failed else f"generation_{index + 1}.png",
                **({} if failed else _looks(plan, rng, drawn, colour)),
            }
        )
    succeeded = sum(r["status"] == "succeeded" for r in results)
    return {
        "user_id": user_id,
        "job_id": run_id,
        "category": plan.category,
        "preset_id": preset_id,
        "preset_name": preset_name,
        "analytics_version": ANALYTICS_VERSION,
        "enhanced_data_available": True,
        "created_at": (created_at or datetime.now(UTC)).isoformat(timespec="seconds"),
        "sampling": plan.sampling,
        "color_strategy": plan.color_strategy,
        "totals": {"generations": n, "succeeded": succeeded, "failed": n - succeeded},
        "resolution": {
            "seed": plan.seed if plan.seed is not None else run_id,
            "generation_count": n,
            "random_attributes": [name for name, _ in dimensions],
            "combination_space": draw.space,
            "distinct_combinations": draw.distinct,
            "space_exhausted": draw.distinct < n,
            "notes": [],
        },
        "random_pools": random_pools(run),
        "randomized_value_counts": {},
        "user_specified": user_specified,
        "near_duplicate_bits": DEFAULT_THRESHOLD,
        "near_duplicates": [],
        "colour_adherence": {},
        "generation_results": results,
    }


def _looks(
    plan: SyntheticPlan, rng: random.Random, drawn: dict[str, Any], colour: str | None
) -> dict[str, Any]:
    """What the image was found to be: a hash of what the picture shows (all but `unseen`), and
    whether it shows its colour."""
    shown = repr(sorted((k, str(v)) for k, v in drawn.items() if k not in plan.unseen))
    looks: dict[str, Any] = {
        "perceptual_hash": hashlib.blake2b(shown.encode(), digest_size=8).hexdigest(),
        "near_duplicate_of": [],
    }
    if colour:
        missed = rng.random() < plan.colour_miss
        delta_e = round(rng.uniform(25, 60) if missed else rng.uniform(0.5, 6), 2)
        looks["colour_adherence"] = {
            "requested": colour,
            "nearest": colour,
            "delta_e": delta_e,
            "share": 0.3,
            "adherent": not missed,
        }
    return looks


def synthetic_history(
    runs: int,
    rng: random.Random,
    *,
    plans: list[SyntheticPlan] | None = None,
    presets: int = 50,
    start: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """`runs` documents over `presets` presets spread over the categories, one hour apart."""
    schema = load_category_schema()
    start = start or datetime(2025, 1, 1, tzinfo=UTC)
    if plans is None:
        categories = schema.categories
        plans = [
            SyntheticPlan(
                category=categories[i % len(categories)],
                generation_count=50,
                sampling="balanced" if i % 5 == 0 else "unique",
                use_model=i % 3 != 0,
                color_strategy=("cycling", "random", "weighted")[i % 3],
            )
            for i in range(presets)
        ]
    for number in range(runs):
        index = number % len(plans)
        yield synthetic_analytics(
            plans[index],
            rng,
            user_id=f"user-{index % 7}",
            preset_id=f"preset-{index}",
            preset_name=f"Preset {index}",
            created_at=start + timedelta(hours=number),
            schema=schema,
        )

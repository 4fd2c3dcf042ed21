"""A bulk request as a job stores it: a preset or a prompt batch, frozen at queue time.

The snapshot is plain JSON, so the run resolves exactly what was queued even if the preset is
edited afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .batches import (
    BATCH_CATEGORY,
    PromptBatch,
    SharedSettings,
    parse_prompt_batch,
    resolve_prompt_batch,
)
from .errors import FieldProblem, PresetValidationError
from .kinds import PRESET, PROMPT_BATCH, snapshot_kind
from .presets import MAX_GENERATIONS, Preset, PresetConfig, parse_preset
from .resolution import ResolutionResult, resolve_preset
from .review import USER_EDITED
from .schema import CategorySchema
from .sizes import render_in_sizes, size_list
from .specs import GenerationSpec


@dataclass(frozen=True)
class Reviewed:
    """Generations the merchant reviewed (and maybe edited) before paying: the run makes
    exactly these instead of resolving the request again."""

    preview_id: str
    generations: tuple[GenerationSpec, ...]
    resolution: dict[str, Any]  # the preview's resolution summary

    def to_json(self) -> dict[str, Any]:
        return {
            "preview_id": self.preview_id,
            "generations": [g.to_dict() for g in self.generations],
            "resolution": self.resolution,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reviewed:
        generations = tuple(GenerationSpec.from_dict(g) for g in data["generations"])
        return cls(data["preview_id"], generations, data["resolution"])

    def result(self) -> ResolutionResult:
        summary = self.resolution
        notes = list(summary.get("notes", []))
        edited = sum(1 for g in self.generations if g.attribute_resolution.get(USER_EDITED))
        previewed = int(summary.get("generation_count", len(self.generations)))
        if edited or previewed != len(self.generations):
            notes.append(
                f"reviewed before the run: {edited} prompt(s) edited, "
                f"{previewed - len(self.generations)} of {previewed} removed"
            )
        return ResolutionResult(
            generations=list(self.generations),
            seed=summary["seed"],
            combination_space=int(summary.get("combination_space", 0)),
            distinct_combinations=int(summary.get("distinct_combinations", 0)),
            random_attributes=list(summary.get("random_attributes", [])),
            notes=notes,
        )


@dataclass(frozen=True)
class BulkRequest:
    kind: str
    name: str
    category: str
    generation_count: int
    preset: Preset | None = None
    batch: PromptBatch | None = None
    reviewed: Reviewed | None = None

    def snapshot(self) -> dict[str, Any]:
        body = self.preset.canonical() if self.preset else self.batch.canonical()  # type: ignore[union-attr]
        snapshot = {"kind": self.kind, "generation_count": self.generation_count, "body": body}
        if self.reviewed is not None:
            snapshot["reviewed"] = self.reviewed.to_json()
        return snapshot

    @property
    def settings(self) -> PresetConfig | SharedSettings:
        """What applies to every generation: a preset's config, a batch's shared settings."""
        if self.preset is not None:
            return self.preset.config
        assert self.batch is not None
        return self.batch.shared_settings

    @property
    def sizes(self) -> list[dict[str, Any]]:
        """Every size asked for, in order: each generation is rendered in each."""
        return size_list(self.settings.dimensions)

    @property
    def image_count(self) -> int:
        """The images the run makes (and reserves): one per generation and size."""
        return self.generation_count * len(self.sizes)

    def resolve_images(self, *, run_seed: int | str) -> ResolutionResult:
        """The resolution with one entry per image to make: each generation in every size."""
        result = self.resolve(run_seed=run_seed)
        if len(self.sizes) <= 1:
            return result
        return replace(result, generations=render_in_sizes(result.generations, self.sizes))

    def with_reviewed(self, reviewed: Reviewed) -> BulkRequest:
        return replace(self, reviewed=reviewed, generation_count=len(reviewed.generations))

    def resolve(
        self, *, run_seed: int | str, schema: CategorySchema | None = None
    ) -> ResolutionResult:
        if self.reviewed is not None:
            return self.reviewed.result()
        if self.preset is not None:
            return resolve_preset(
                self.preset,
                run_seed=run_seed,
                schema=schema,
                generation_count=self.generation_count,
            )
        assert self.batch is not None
        return resolve_prompt_batch(self.batch, run_seed=run_seed)


def preset_request(
    data: Any, *, generation_count: int | None = None, schema: CategorySchema | None = None
) -> BulkRequest:
    """Validate a preset; `generation_count` overrides the preset's own count (1–50)."""
    count_problem = _count_problem(generation_count)
    try:
        preset = parse_preset(data, schema)
    except PresetValidationError as exc:
        extra = [count_problem] if count_problem else []
        raise PresetValidationError([*extra, *exc.problems], omitted=exc.omitted) from None
    if count_problem:
        raise PresetValidationError([count_problem])
    count = preset.config.generation_count if generation_count is None else generation_count
    return BulkRequest(PRESET, preset.name, preset.category, count, preset=preset)


def _count_problem(count: Any) -> FieldProblem | None:
    if count is None:
        return None
    if isinstance(count, bool) or not isinstance(count, int):
        return FieldProblem("generation_count", f"must be an integer, got {count!r}")
    if not 1 <= count <= MAX_GENERATIONS:
        return FieldProblem(
            "generation_count", f"must be between 1 and {MAX_GENERATIONS}, got {count}"
        )
    return None


def batch_request(data: Any) -> BulkRequest:
    batch = parse_prompt_batch(data)
    return BulkRequest(
        PROMPT_BATCH, batch.name, BATCH_CATEGORY, batch.generation_count, batch=batch
    )


def request_from_snapshot(snapshot: dict[str, Any]) -> BulkRequest:
    """The request exactly as it was queued.

    The snapshot was validated against the schema when it was queued; it is not checked again,
    so removing an option from the schema later never breaks a run that is already queued.
    """
    body = snapshot["body"]
    if snapshot_kind(snapshot) == PROMPT_BATCH:
        request = batch_request(body)
    else:
        preset = Preset.model_validate(body)
        count = snapshot.get("generation_count") or preset.config.generation_count
        request = BulkRequest(PRESET, preset.name, preset.category, count, preset=preset)
    reviewed = snapshot.get("reviewed")
    return request.with_reviewed(Reviewed.from_json(reviewed)) if reviewed else request

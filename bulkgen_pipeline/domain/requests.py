"""A bulk request as a job stores it: a preset or a prompt batch, frozen at queue time.

The snapshot is plain JSON, so the run resolves exactly what was queued even if the preset is
edited afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .batches import BATCH_CATEGORY, PromptBatch, parse_prompt_batch, resolve_prompt_batch
from .errors import FieldProblem, PresetValidationError
from .kinds import PRESET, PROMPT_BATCH, snapshot_kind
from .presets import MAX_GENERATIONS, Preset, parse_preset
from .resolution import ResolutionResult, resolve_preset
from .schema import CategorySchema


@dataclass(frozen=True)
class BulkRequest:
    kind: str
    name: str
    category: str
    generation_count: int
    preset: Preset | None = None
    batch: PromptBatch | None = None

    def snapshot(self) -> dict[str, Any]:
        body = self.preset.canonical() if self.preset else self.batch.model_dump(mode="json")  # type: ignore[union-attr]
        return {"kind": self.kind, "generation_count": self.generation_count, "body": body}

    def resolve(
        self, *, run_seed: int | str, schema: CategorySchema | None = None
    ) -> ResolutionResult:
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
        return batch_request(body)
    preset = Preset.model_validate(body)
    count = snapshot.get("generation_count") or preset.config.generation_count
    return BulkRequest(PRESET, preset.name, preset.category, count, preset=preset)

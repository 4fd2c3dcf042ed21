"""A run as the run page shows it: the status view of `runs.status` plus, per generation, its
tile state and what it was made from (prompt; which attributes were random, which fixed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.layout import image_place
from ..domain.specs import GenerationSpec
from ..domain.statuses import RETRYABLE_JOB_STATUSES, ItemStatus, JobStatus
from ..runs.image_checks import ImageFindings

TILE_STATES = {
    ItemStatus.PENDING.value: "waiting",
    ItemStatus.RUNNING.value: "running",
    ItemStatus.SUCCEEDED.value: "done",
    ItemStatus.FAILED.value: "failed",
}


@dataclass(frozen=True)
class Tile:
    index: int
    state: str  # waiting, running, done, failed
    error: str | None
    prompt: str | None
    random: dict[str, Any]
    fixed: dict[str, Any]
    # In a run of several sizes: "generation 2 · 16x9" (else the index says it all).
    label: str | None = None
    alike: tuple[int, ...] = ()  # the images this one is a near-duplicate of
    colour: dict[str, Any] | None = None  # its colour adherence (inspection.ColourMeasure)


def tiles(
    status: dict[str, Any],
    generations: dict[int, GenerationSpec],
    findings: ImageFindings | None = None,
) -> list[Tile]:
    """`generations`: runs.resolved_prompts.resolved_generations (empty until resolved);
    `findings`: what the generation step found the images to be (None until it has)."""
    items = {item["generation_index"]: item for item in status["items"]}
    sizes = status.get("sizes") or []
    result = []
    for index in range(1, status["total_images"] + 1):
        item = items.get(index)
        spec = generations.get(index)
        label = None
        if len(sizes) > 1:
            generation, position = image_place(index, len(sizes))
            label = f"generation {generation} · {sizes[position]}"
        resolution = spec.attribute_resolution if spec else {}
        result.append(
            Tile(
                index=index,
                state=TILE_STATES.get(item["status"], "waiting") if item else "waiting",
                error=item["error"] if item and item["status"] == ItemStatus.FAILED else None,
                prompt=spec.prompt if spec else None,
                random=dict(resolution.get("randomly_selected", {})),
                fixed=dict(resolution.get("user_specified", {})),
                label=label,
                alike=tuple(findings.alike(index)) if findings else (),
                colour=_colour(findings, index),
            )
        )
    return result


def _colour(findings: ImageFindings | None, index: int) -> dict[str, Any] | None:
    measure = findings.colours.get(index) if findings else None
    return measure.to_dict() if measure else None


def can_cancel(status: str) -> bool:
    return not JobStatus(status).is_final


def can_retry(status: dict[str, Any]) -> bool:
    retryable = JobStatus(status["status"]) in RETRYABLE_JOB_STATUSES
    return retryable and status["files_deleted_at"] is None


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = round(seconds)
    minutes, rest = divmod(seconds, 60)
    return f"about {minutes} min {rest} s left" if minutes else f"about {rest} s left"

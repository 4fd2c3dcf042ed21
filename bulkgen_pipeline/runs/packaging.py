"""What a run hands over: per-image metadata, the ZIP, its summary and analytics.json v2.0.

The ZIP is written to a temporary file one member at a time, each image copied from the object
store in chunks, then uploaded as a stream: peak memory stays flat however many images there are.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..domain.batches import BATCH_CATEGORY
from ..domain.layout import ZIP_SUMMARY_NAME, RunLayout
from ..domain.mappers import AttributeResolver, BackgroundMapper, ModelMapper
from ..domain.presets import ColorStrategy, Sampling
from ..domain.schema import load_category_schema
from ..domain.specs import GenerationSpec
from ..storage.base import ObjectStore
from .image_checks import ImageFindings

ANALYTICS_VERSION = "2.0"
_COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class RunContext:
    """Who and what a run is for: the parts of the job every output repeats."""

    layout: RunLayout
    preset_name: str
    original_config: dict[str, Any]
    test: bool = False  # a test-mode key's run: every output says so

    @property
    def test_marker(self) -> dict[str, Any]:
        """`"test": true` in each output of a test-mode run (nothing in a live run's)."""
        return {"test": True} if self.test else {}

    @property
    def preset_metadata(self) -> dict[str, Any]:
        return {
            "preset_id": self.layout.preset_id,
            "preset_name": self.preset_name,
            "category": self.layout.category,
            "original_config": self.original_config,
        }


@dataclass(frozen=True)
class GenerationOutcome:
    generation: int
    succeeded: bool
    provider: str | None = None
    model: str | None = None
    attempts: int = 0
    error: str | None = None
    latency_seconds: float | None = None


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def image_metadata(
    spec: GenerationSpec,
    run: RunContext,
    *,
    provider: str,
    model: str,
    latency_seconds: float,
    attempts: int,
) -> dict[str, Any]:
    """Per-image metadata (README "Outputs": metadata/generation_{i}.json). In a run of several
    sizes, `generation` is the generation the image renders, `image_index` the image's own
    number and `size` which of the sizes it is."""
    return {
        "generation": spec.prompt_generation,
        **_size_fields(spec),
        "prompt": spec.prompt,
        "negative_prompt": spec.negative_prompt,
        "config": spec.config,
        "attribute_resolution": spec.attribute_resolution,
        "preset_metadata": run.preset_metadata,
        "provider": provider,
        "model": model,
        "seed": spec.seed,
        "timings": {"latency_seconds": round(latency_seconds, 3), "attempts": attempts},
        "image_filename": run.layout.image_filename(spec.generation),
        "object_key": run.layout.image_key(spec.generation),
        "generated_at": utc_now_iso(),
        **run.test_marker,
    }


def _size_fields(spec: GenerationSpec) -> dict[str, Any]:
    """Which image of its generation this is, in a run of several sizes (else nothing)."""
    if spec.size is None:
        return {}
    return {"image_index": spec.generation, "size": spec.size, "dimensions": spec.dimensions}


def run_summary(
    run: RunContext,
    specs: list[GenerationSpec],
    outcomes: list[GenerationOutcome],
    resolution_summary: dict[str, Any],
    findings: ImageFindings | None = None,
) -> dict[str, Any]:
    """bulk_generation_summary.json: totals, failures with reasons, provider per image, and
    what the images were found to be (near-duplicate pairs, colour adherence)."""
    succeeded = [o for o in outcomes if o.succeeded]
    return {
        "run_id": run.layout.run_id,
        "user_id": run.layout.user_id,
        **{k: v for k, v in run.preset_metadata.items() if k != "original_config"},
        "total_images": len(specs),
        "completed_images": len(succeeded),
        "failed_images": len(outcomes) - len(succeeded),
        "failures": [
            {"generation": o.generation, "reason": o.error, "attempts": o.attempts}
            for o in outcomes
            if not o.succeeded
        ],
        "providers": {str(o.generation): o.provider for o in succeeded},
        "provider_counts": dict(Counter(o.provider for o in succeeded)),
        "resolution": resolution_summary,
        "zip_key": run.layout.zip_key,
        "created_at": utc_now_iso(),
        **run.test_marker,
        **(findings.run_fields() if findings is not None else {}),
    }


@dataclass(frozen=True)
class ZipReport:
    key: str
    size_bytes: int
    members: list[str]  # as listed by the finished archive itself


def write_zip(
    store: ObjectStore, run: RunContext, outcomes: list[GenerationOutcome], summary: dict[str, Any]
) -> ZipReport:
    """Build the run's ZIP from the stored images and metadata and upload it, streaming."""
    with tempfile.TemporaryDirectory(prefix="bulkgen-zip-") as folder:
        path = Path(folder) / f"{run.layout.run_id}.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for outcome in sorted(outcomes, key=lambda o: o.generation):
                if not outcome.succeeded:
                    continue
                name = run.layout.image_filename(outcome.generation)
                # PNG is already compressed: store it, don't spend CPU deflating it again.
                info = zipfile.ZipInfo(name, date_time=_zip_timestamp())
                info.compress_type = zipfile.ZIP_STORED
                with (
                    store.open_read(run.layout.image_key(outcome.generation)) as source,
                    archive.open(info, "w", force_zip64=True) as target,
                ):
                    shutil.copyfileobj(source, target, _COPY_CHUNK)
                metadata_name = run.layout.metadata_filename(outcome.generation)
                archive.writestr(
                    metadata_name, store.get_bytes(run.layout.metadata_key(outcome.generation))
                )
            archive.writestr(ZIP_SUMMARY_NAME, json.dumps(summary, indent=2))
        # Read back from the finished file's central directory: what a downloader will see.
        with zipfile.ZipFile(path) as written:
            members = written.namelist()
        size = path.stat().st_size
        store.upload_file(run.layout.zip_key, path, content_type="application/zip")
    return ZipReport(run.layout.zip_key, size, members)


def _zip_timestamp() -> tuple[int, int, int, int, int, int]:
    now = datetime.now(UTC)
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


class AnalyticsOutcome(StrEnum):
    """What became of one generation, as analytics.json records it."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    # A cancel stopped the run before this generation started: no provider ever saw it, so it
    # says nothing about providers or attribute values.
    NOT_GENERATED = "not_generated"


# collect_outcomes (runs/generation.py) gives a generation a cancel never started this reason.
_NOT_GENERATED_PREFIX = "not generated"


def _outcome_of(outcome: GenerationOutcome) -> AnalyticsOutcome:
    if outcome.succeeded:
        return AnalyticsOutcome.SUCCEEDED
    if outcome.attempts == 0 and (outcome.error or "").startswith(_NOT_GENERATED_PREFIX):
        return AnalyticsOutcome.NOT_GENERATED
    return AnalyticsOutcome.FAILED


def random_pools(run: RunContext) -> dict[str, dict[str, Any]]:
    """What each random attribute and the colour were drawn from, and how.

    `options` maps each option to its weight (equal weights: uniform). Recorded with the run so
    that the data team tests each draw against the pool and schema of its own time.
    """
    config = run.original_config
    if run.layout.category == BATCH_CATEGORY:
        return {}
    schema = load_category_schema()
    sampling = str(config.get("sampling") or Sampling.unique)
    pools: dict[str, dict[str, Any]] = {}
    mappers = [
        AttributeResolver(run.layout.category, schema),
        ModelMapper(schema),
        BackgroundMapper(run.layout.category, schema),
    ]
    for mapper in mappers:
        for name, options in mapper.split(config)[1]:
            pools[name] = {"strategy": sampling, "options": dict.fromkeys(options, 1.0)}
    palette = [str(c) for c in config.get("color_palette") or []]
    if len(set(palette)) > 1:
        strategy = ColorStrategy(config.get("color_strategy") or ColorStrategy.cycling)
        weights: dict[str, float] = defaultdict(float)
        given = config.get("color_weights") if strategy is ColorStrategy.weighted else None
        for index, colour in enumerate(palette):
            # random picks palette positions, so a repeated colour counts once per position.
            weights[colour] += float(given[index]) if given else 1.0
        pools["color"] = {
            "strategy": strategy.value,
            "options": dict(weights),
            "palette": palette,  # in order: what cycling walks through
        }
    return pools


def build_analytics(
    run: RunContext,
    specs: list[GenerationSpec],
    outcomes: list[GenerationOutcome],
    resolution_summary: dict[str, Any],
    findings: ImageFindings | None = None,
) -> dict[str, Any]:
    """analytics.json v2.0: one entry per generation, what was random and what the user fixed.

    Beyond the v2.0 fields, each generation carries its model, attempts, latency and outcome,
    and the run its preset name, strategies and the pools every random value was drawn from:
    what the data team's generation_facts are built from. A run of several sizes has one entry
    per image: its `generation_index` is the generation's, `image_index` and `size` say which
    image, and the value counts count each generation once (one draw, however many sizes).
    """
    by_generation = {o.generation: o for o in outcomes}
    results = []
    value_counts: dict[str, Counter[str]] = defaultdict(Counter)
    counted: set[int] = set()
    for spec in specs:
        outcome = by_generation.get(spec.generation, GenerationOutcome(spec.generation, False))
        resolved = {k: v for k, v in spec.config.items() if k not in ("category", "dimensions")}
        if spec.prompt_generation not in counted:
            counted.add(spec.prompt_generation)
            for name, value in spec.attribute_resolution["randomly_selected"].items():
                value_counts[name][str(value)] += 1
        results.append(
            {
                "generation_index": spec.prompt_generation,
                **_size_fields(spec),
                "prompt_text": spec.prompt,
                "resolved_attributes": resolved,
                "attribute_resolution": spec.attribute_resolution,
                "preset_metadata": {
                    "preset_name": run.preset_name,
                    "category": run.layout.category,
                },
                "status": "succeeded" if outcome.succeeded else "failed",
                "outcome": _outcome_of(outcome).value,
                "failure_reason": outcome.error,
                "provider": outcome.provider,
                "model": outcome.model,
                "attempts": outcome.attempts,
                "latency_s": round(outcome.latency_seconds, 3)
                if outcome.latency_seconds is not None
                else None,
                "seed": spec.seed,
                "s3_zip_path": run.layout.zip_key,
                "image_filename_in_zip": run.layout.image_filename(spec.generation)
                if outcome.succeeded
                else None,
                **(findings.image_fields(spec.generation) if findings is not None else {}),
            }
        )
    first = specs[0].attribute_resolution if specs else {"user_specified": {}}
    config = run.original_config
    is_batch = run.layout.category == BATCH_CATEGORY
    return {
        "user_id": run.layout.user_id,
        "job_id": run.layout.run_id,
        "category": run.layout.category,
        "preset_id": run.layout.preset_id,
        "preset_name": run.preset_name,
        "analytics_version": ANALYTICS_VERSION,
        **run.test_marker,
        "enhanced_data_available": True,
        "created_at": utc_now_iso(),
        "sampling": None if is_batch else str(config.get("sampling") or Sampling.unique),
        "color_strategy": None
        if is_batch
        else str(config.get("color_strategy") or ColorStrategy.cycling),
        "totals": {
            "generations": len(counted),
            **({"images": len(specs)} if len(counted) != len(specs) else {}),
            "succeeded": sum(1 for r in results if r["status"] == "succeeded"),
            "failed": sum(1 for r in results if r["status"] == "failed"),
        },
        "resolution": resolution_summary,
        "random_pools": random_pools(run),
        "randomized_value_counts": {name: dict(counts) for name, counts in value_counts.items()},
        "user_specified": first["user_specified"],
        **(findings.run_fields() if findings is not None else {}),
        "generation_results": results,
    }

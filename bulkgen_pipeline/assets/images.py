"""generated_images: one image per resolved prompt, each stored the moment it arrives."""

import base64
import io
import os
from collections import Counter
from typing import Any

import dagster as dg
from PIL import Image

from .. import db
from ..providers.settings import ProviderSettings
from ..resources.database import DatabaseResource
from ..resources.images import ImageGenerationResource
from ..resources.object_store import ObjectStoreResource
from ..runs.contact_sheet import contact_sheet
from ..runs.generation import generate_images
from ..runs.packaging import GenerationOutcome
from .common import load_run, load_specs
from .partitions import bulk_run_partitions

NO_IMAGES = "No images were generated successfully"
CANCELLED_BEFORE_ANY_IMAGE = "Cancelled before any image was generated"


def images_pool() -> str:
    """The concurrency pool of the enabled providers, e.g. images_google_replicate."""
    try:
        providers = ProviderSettings.from_env(os.environ).providers
    except ValueError:  # reported clearly when a run builds its router; don't break loading
        return "images"
    return "images_" + "_".join(sorted(providers))


IMAGE_CHECK = "images_open_at_requested_size"


class DatabaseTracker:
    """Records each item's status and the run's progress counters as images finish."""

    def __init__(self, database: db.Database, run_id: str, log):
        self.database = database
        self.run_id = run_id
        self.log = log

    def started(self, generation: int) -> None:
        with self.database.session() as session:
            db.record_item(session, self.run_id, generation, status="running")

    def finished(self, outcome: GenerationOutcome, object_key: str | None) -> None:
        with self.database.session() as session:
            db.record_item(
                session,
                self.run_id,
                outcome.generation,
                status="succeeded" if outcome.succeeded else "failed",
                provider=outcome.provider,
                model=outcome.model,
                attempts=outcome.attempts,
                error=outcome.error,
                object_key=object_key,
                latency_ms=int(outcome.latency_seconds * 1000)
                if outcome.latency_seconds is not None
                else None,
            )
            completed, failed = db.refresh_progress(session, self.run_id)
        if not outcome.succeeded:
            self.log.warning(f"generation {outcome.generation} failed: {outcome.error}")
        self.log.info(f"progress: {completed} succeeded, {failed} failed")

    def should_stop(self) -> bool:
        with self.database.session() as session:
            return db.is_cancel_requested(session, self.run_id)


@dg.asset(
    partitions_def=bulk_run_partitions,
    group_name="bulk_generation",
    deps=["resolved_prompts"],
    pool=images_pool(),
    check_specs=[
        dg.AssetCheckSpec(
            IMAGE_CHECK,
            asset="generated_images",
            description="Every stored image opens and has the requested size",
        )
    ],
    kinds={"python"},
)
def generated_images(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    object_store: ObjectStoreResource,
    images: ImageGenerationResource,
) -> dg.MaterializeResult:
    """The run's images, generated concurrently across providers; failures don't stop the run."""
    run_id = context.partition_key
    store = object_store.get_store()
    database_ = database.get_database()
    loaded = load_run(database_, run_id)
    specs, _ = load_specs(store, loaded.layout)
    tracker = DatabaseTracker(database_, run_id, context.log)
    outcomes, reused = generate_images(
        specs,
        generate=images.generate,
        store=store,
        run=loaded.run,
        tracker=tracker,
        max_workers=images.max_parallel,
    )
    succeeded = [o for o in outcomes if o.succeeded]
    if not succeeded and tracker.should_stop():
        raise dg.Failure(description=CANCELLED_BEFORE_ANY_IMAGE)
    if not succeeded:
        raise dg.Failure(
            description=NO_IMAGES, metadata={"failures": dg.MetadataValue.json(_failures(outcomes))}
        )

    sheet = contact_sheet(store.get_bytes(loaded.layout.image_key(o.generation)) for o in succeeded)
    metadata: dict[str, Any] = {
        "requested": len(specs),
        "succeeded": len(succeeded),
        "failed": sum(1 for o in outcomes if not o.succeeded),
        "not_started": len(specs) - len(outcomes),
        "reused_from_earlier_attempt": reused,
        "providers": dg.MetadataValue.json(dict(Counter(str(o.provider) for o in succeeded))),
        "failures": dg.MetadataValue.json(_failures(outcomes)),
        "images_folder": store.location(f"{loaded.layout.folder}/images"),
    }
    if sheet is not None:
        store.put_bytes(loaded.layout.contact_sheet_key, sheet, "image/jpeg")
        encoded = base64.b64encode(sheet).decode()
        metadata["contact_sheet"] = dg.MetadataValue.md(
            f"![contact sheet](data:image/jpeg;base64,{encoded})"
        )
        metadata["contact_sheet_path"] = store.location(loaded.layout.contact_sheet_key)
    bad_sizes = _size_problems(store, loaded.layout, specs, succeeded)
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=IMAGE_CHECK,
                passed=not bad_sizes,
                metadata={"checked": len(succeeded), "problems": dg.MetadataValue.json(bad_sizes)},
            )
        ],
    )


def _failures(outcomes: list[GenerationOutcome]) -> dict[str, str]:
    return {str(o.generation): o.error or "unknown" for o in outcomes if not o.succeeded}


def _size_problems(store, layout, specs, succeeded) -> dict[str, str]:
    by_generation = {spec.generation: spec for spec in specs}
    problems = {}
    for outcome in succeeded:
        spec = by_generation[outcome.generation]
        try:
            with Image.open(
                io.BytesIO(store.get_bytes(layout.image_key(outcome.generation)))
            ) as image:
                image.verify()
                size = image.size
        except Exception as exc:
            problems[str(outcome.generation)] = f"does not open as an image: {exc}"
            continue
        wanted = spec.dimensions
        if "width" in wanted and size != (wanted["width"], wanted["height"]):
            problems[str(outcome.generation)] = (
                f"is {size[0]}x{size[1]}, wanted {wanted['width']}x{wanted['height']}"
            )
        elif "aspect_ratio" in wanted:
            w, h = (int(x) for x in wanted["aspect_ratio"].split(":"))
            if abs(size[0] / size[1] - w / h) > 0.02:
                problems[str(outcome.generation)] = (
                    f"is {size[0]}x{size[1]}, not {wanted['aspect_ratio']}"
                )
    return problems

"""generated_images: one image per resolved prompt, each stored the moment it arrives."""

import base64
from collections import Counter
from typing import Any

import dagster as dg

from .. import db
from ..domain.layout import RunLayout
from ..domain.statuses import SETTLED_JOB_STATUSES
from ..jobs.termination import termination_check
from ..providers.settings import RouterSettings
from ..resources.database import DatabaseResource
from ..resources.images import ImageGenerationResource
from ..resources.object_store import ObjectStoreResource
from ..runs.contact_sheet import contact_sheet
from ..runs.ending import CANCELLED_BEFORE_ANY_IMAGE, end_run
from ..runs.generation import generate_images
from ..runs.image_checks import ImageFindings, LookingAsStored, inspect_images
from ..runs.packaging import GenerationOutcome
from ..runs.resolved_prompts import resolved_prompts
from ..runs.tracking import DatabaseTracker
from ..storage.base import ObjectStore
from .common import leased, load_run
from .partitions import bulk_run_partitions

IMAGE_CHECK = "images_open_at_requested_size"
NEAR_DUPLICATE_CHECK = "no_near_duplicate_images"
COLOUR_CHECK = "images_show_their_colour"


def images_pool(settings: RouterSettings) -> str:
    """The concurrency pool of the enabled providers, e.g. images_google_replicate."""
    return "images_" + "_".join(sorted(settings.providers))


def generated_images_asset(pool: str) -> dg.AssetsDefinition:
    """The generated_images asset in `pool` (the definitions name it from their settings)."""
    return dg.asset(
        name="generated_images",
        partitions_def=bulk_run_partitions,
        group_name="bulk_generation",
        deps=["resolved_prompts"],
        pool=pool,
        check_specs=[
            dg.AssetCheckSpec(
                IMAGE_CHECK,
                asset="generated_images",
                description="Every stored image opens and has the requested size",
            ),
            dg.AssetCheckSpec(
                NEAR_DUPLICATE_CHECK,
                asset="generated_images",
                description="No two images look alike (perceptual hashes within the threshold)",
            ),
            dg.AssetCheckSpec(
                COLOUR_CHECK,
                asset="generated_images",
                description="Images that asked for a colour show it (CIEDE2000 to a dominant "
                "colour), for most of the run",
            ),
        ],
        kinds={"python"},
    )(leased(generated_images))


def generated_images(
    context: dg.AssetExecutionContext,
    database: DatabaseResource,
    object_store: ObjectStoreResource,
    images: ImageGenerationResource,
) -> dg.MaterializeResult:
    """The run's images, generated concurrently across providers; failures don't stop the run."""
    run_id = context.partition_key
    store = object_store.get_run_store()
    database_ = database.get_database()
    loaded = load_run(database_, run_id)
    specs = resolved_prompts(store, loaded.layout).specs
    if loaded.job.status in SETTLED_JOB_STATUSES:
        context.log.info("This run is settled: its stored images are final, none is regenerated")
    tracker = DatabaseTracker(
        database_,
        run_id,
        context.log,
        terminated=termination_check(context.instance, context.run_id),
        total=len(specs),
    )
    # A test-mode key's run is always made on the preview renderer, never charged.
    router = images.get_test_router() if loaded.job.is_test else images.get_router()
    # Each image is looked at as soon as it is stored, while others wait on their provider.
    with LookingAsStored(run_id) as looking:
        outcomes, reused = generate_images(
            specs,
            generate=router.generate,
            store=store,
            run=loaded.run,
            tracker=tracker,
            max_workers=router.max_parallel,
            on_stored=looking.hand_over,
        )
    succeeded = [o.generation for o in outcomes if o.succeeded]
    if not succeeded and tracker.should_stop():
        # End the job here rather than leave it to the run-failure sensor: a run launched
        # without the daemon (the CLI, a test) has no sensor watching it.
        end_run(
            database_,
            run_id,
            dagster_run_id=context.run_id,
            cancelled=True,
            reason=CANCELLED_BEFORE_ANY_IMAGE,
        )
        raise dg.Failure(description=CANCELLED_BEFORE_ANY_IMAGE)
    if not succeeded:
        raise dg.Failure(
            description=db.NO_IMAGES_ERROR,
            metadata={"failures": dg.MetadataValue.json(_failures(outcomes))},
        )

    metadata: dict[str, Any] = {
        "requested": len(specs),
        "succeeded": len(succeeded),
        "failed": sum(1 for o in outcomes if not o.succeeded),
        "not_started": len(specs) - len(outcomes),
        "reused_from_earlier_attempt": reused,
        "providers": dg.MetadataValue.json(
            dict(Counter(str(o.provider) for o in outcomes if o.succeeded))
        ),
        "failures": dg.MetadataValue.json(_failures(outcomes)),
        "images_folder": store.location(f"{loaded.layout.folder}/images"),
    }
    findings = inspect_images(
        store, loaded.layout, specs, succeeded, images.near_duplicate_bits, looking.looked
    )
    metadata.update(_contact_sheet(context, store, loaded.layout, findings))
    metadata["near_duplicate_pairs"] = len(findings.pairs)
    metadata["colour_adherence"] = dg.MetadataValue.json(findings.colour_summary())
    return dg.MaterializeResult(metadata=metadata, check_results=_check_results(findings))


def _check_results(findings: ImageFindings) -> list[dg.AssetCheckResult]:
    """The size check fails the check (a provider sent what was not asked for); alike pictures
    and missing colours warn: the images are made and charged, an operator looks."""
    pairs = [p.to_dict() for p in findings.pairs]
    colours = findings.colour_summary()
    return [
        dg.AssetCheckResult(
            check_name=IMAGE_CHECK,
            passed=not findings.size_problems,
            metadata={
                "checked": len(findings.looks) + len(findings.size_problems),
                "problems": dg.MetadataValue.json(findings.size_problems),
            },
        ),
        dg.AssetCheckResult(
            check_name=NEAR_DUPLICATE_CHECK,
            passed=not pairs,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "threshold_bits": findings.threshold,
                "pairs": dg.MetadataValue.json(pairs),
            },
        ),
        dg.AssetCheckResult(
            check_name=COLOUR_CHECK,
            passed=not findings.adherence_is_low,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                **{k: v for k, v in colours.items() if v is not None},
                "not_adherent": dg.MetadataValue.json(
                    {str(i): c.to_dict() for i, c in findings.colours.items() if not c.adherent}
                ),
            },
        ),
    ]


def _contact_sheet(
    context: dg.AssetExecutionContext,
    store: ObjectStore,
    layout: RunLayout,
    findings: ImageFindings,
) -> dict[str, Any]:
    """The contact sheet's metadata; {} when there is none. It is a convenience for operators,
    not something a merchant paid for: failing to make or store it never fails the run. Made
    from the pictures the inspection decoded already."""
    try:
        sheet = contact_sheet(findings.thumbnails[g] for g in sorted(findings.thumbnails))
        if sheet is None:
            return {}
        store.put_bytes(layout.contact_sheet_key, sheet, "image/jpeg")
    except Exception as exc:
        context.log.warning(f"No contact sheet for this run: {type(exc).__name__}: {exc}")
        return {}
    encoded = base64.b64encode(sheet).decode()
    return {
        "contact_sheet": dg.MetadataValue.md(f"![contact sheet](data:image/jpeg;base64,{encoded})"),
        "contact_sheet_path": store.location(layout.contact_sheet_key),
    }


def _failures(outcomes: list[GenerationOutcome]) -> dict[str, str]:
    return {str(o.generation): o.error or "unknown" for o in outcomes if not o.succeeded}

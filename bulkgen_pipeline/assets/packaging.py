"""bulk_zip and run_analytics: what the merchant downloads and what the data team reads."""

import json

import dagster as dg

from ..domain.layout import ZIP_SUMMARY_NAME
from ..resources.database import DatabaseResource
from ..resources.object_store import ObjectStoreResource
from ..runs.packaging import build_analytics, run_summary, write_zip
from .common import leased, load_generated_run
from .partitions import bulk_run_partitions

ZIP_CHECK = "zip_lists_every_success"


@dg.asset(
    partitions_def=bulk_run_partitions,
    group_name="bulk_generation",
    deps=["generated_images"],
    check_specs=[
        dg.AssetCheckSpec(
            ZIP_CHECK,
            asset="bulk_zip",
            description="The ZIP holds every successful generation and its metadata",
        )
    ],
    kinds={"python"},
)
@leased
def bulk_zip(
    context: dg.AssetExecutionContext, database: DatabaseResource, object_store: ObjectStoreResource
) -> dg.MaterializeResult:
    """The downloadable ZIP: images, per-image metadata and the run summary."""
    store = object_store.get_run_store()
    generated = load_generated_run(database.get_database(), store, context.partition_key)
    outcomes = generated.outcomes
    summary = run_summary(
        generated.run, generated.specs, outcomes, generated.resolution, generated.findings
    )
    store.put_bytes(
        generated.layout.summary_key, json.dumps(summary, indent=2).encode(), "application/json"
    )
    report = write_zip(store, generated.run, outcomes, summary)

    expected = {generated.layout.image_filename(o.generation) for o in outcomes if o.succeeded}
    listed = set(report.members)
    missing = sorted(expected - listed) + (
        [ZIP_SUMMARY_NAME] if ZIP_SUMMARY_NAME not in listed else []
    )
    return dg.MaterializeResult(
        metadata={
            "zip": store.location(report.key),
            "zip_key": report.key,
            "size_mb": round(report.size_bytes / 1e6, 3),
            "images": len(expected),
            "failed": summary["failed_images"],
            "download_url": dg.MetadataValue.url(store.download_url(report.key)),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=ZIP_CHECK,
                passed=not missing,
                metadata={"missing": ", ".join(missing) or "-"},
            )
        ],
    )


@dg.asset(
    partitions_def=bulk_run_partitions,
    group_name="bulk_generation",
    deps=["generated_images"],
    kinds={"python"},
)
@leased
def run_analytics(
    context: dg.AssetExecutionContext, database: DatabaseResource, object_store: ObjectStoreResource
) -> dg.MaterializeResult:
    """analytics.json v2.0: per generation, what was drawn at random and what the user fixed."""
    store = object_store.get_run_store()
    generated = load_generated_run(database.get_database(), store, context.partition_key)
    specs = generated.specs
    analytics = build_analytics(
        generated.run, specs, generated.outcomes, generated.resolution, generated.findings
    )
    store.put_bytes(
        generated.layout.analytics_key,
        json.dumps(analytics, indent=2).encode(),
        "application/json",
    )
    random_share = sum(len(s.attribute_resolution["randomly_selected"]) for s in specs) / max(
        1, len(specs)
    )
    return dg.MaterializeResult(
        metadata={
            "analytics": store.location(generated.layout.analytics_key),
            "analytics_version": analytics["analytics_version"],
            "generations": len(analytics["generation_results"]),
            "random_attributes_per_generation": round(random_share, 2),
            "randomized_value_counts": dg.MetadataValue.json(analytics["randomized_value_counts"]),
        }
    )

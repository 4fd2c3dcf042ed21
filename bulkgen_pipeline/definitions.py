"""The one Definitions object: assets, checks, jobs, sensors and resources of bulkgen."""

from __future__ import annotations

import os

import dagster as dg

from .assets.analytics import ANALYTICS_ASSETS
from .assets.images import images_pool
from .config import Settings
from .jobs.analytics import analytics_job
from .jobs.bulk import bulk_assets, bulk_generation_job
from .jobs.launchpad import queue_bulk_run
from .providers.settings import ProviderSettings
from .resources.database import DatabaseResource
from .resources.images import ImageGenerationResource
from .resources.object_store import ObjectStoreResource
from .sensors.analytics import settled_runs_to_analytics
from .sensors.failures import bulk_run_cancellations, bulk_run_failures
from .sensors.leases import stranded_jobs
from .sensors.queue import queued_bulk_jobs
from .sensors.schedules import scheduled_starts

__all__ = ["BULK_ASSETS", "bulk_generation_job", "build_definitions", "build_resources", "defs"]


# The code location's edge: the provider settings are read here, once, at load (malformed ones
# fail loading with the variable named, rather than at the first run).
IMAGES_POOL = images_pool(ProviderSettings.from_env())
BULK_ASSETS = bulk_assets(IMAGES_POOL)


def build_resources(settings: Settings | None = None) -> dict[str, object]:
    settings = settings or Settings.from_env()
    # A database URL may carry a password: given as EnvVar, the Dagster UI shows the variable's
    # name, never its value.
    database_url: str | dg.EnvVar = settings.database_url
    if os.environ.get("BULKGEN_DATABASE_URL") == settings.database_url:
        database_url = dg.EnvVar("BULKGEN_DATABASE_URL")
    return {
        "database": DatabaseResource(
            url=database_url,
            lease_seconds=settings.lease_seconds,
            max_resumes=settings.max_resumes,
        ),
        "object_store": ObjectStoreResource(
            storage_url=settings.storage_url, write_retry_seconds=settings.store_retry_seconds
        ),
        "images": ImageGenerationResource()
        if settings.near_duplicate_bits is None
        else ImageGenerationResource(near_duplicate_bits=settings.near_duplicate_bits),
    }


def build_definitions(resources: dict[str, object] | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[*BULK_ASSETS, *ANALYTICS_ASSETS],
        jobs=[bulk_generation_job, queue_bulk_run, analytics_job],
        sensors=[
            queued_bulk_jobs,
            bulk_run_failures,
            bulk_run_cancellations,
            stranded_jobs,
            settled_runs_to_analytics,
            scheduled_starts,
        ],
        resources=resources or build_resources(),
    )


defs = build_definitions()

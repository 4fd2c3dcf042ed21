"""What every asset of a run loads first: the job as queued, its layout and its resolved specs."""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg

from .. import db
from ..domain.layout import RunLayout
from ..domain.specs import GenerationSpec
from ..domain.statuses import JobStatus
from ..runs.control import find_owned_job
from ..runs.errors import NotFound
from ..runs.generation import collect_outcomes
from ..runs.image_checks import ImageFindings, read_findings
from ..runs.leases import LeaseKeeper, claim_for_run
from ..runs.packaging import GenerationOutcome, RunContext
from ..runs.resolved_prompts import resolved_prompts
from ..runs.tracking import recorded_outcomes
from ..storage.base import ObjectStore


@dataclass(frozen=True)
class LoadedRun:
    job: Any  # db.JobView
    run: RunContext

    @property
    def layout(self) -> RunLayout:
        return self.run.layout


def load_run(database: db.Database, run_id: str) -> LoadedRun:
    try:
        job = find_owned_job(database, None, run_id)
    except NotFound:
        raise dg.Failure(description=f"No bulk job with run id '{run_id}'") from None
    layout = RunLayout.of(job)
    return LoadedRun(job, RunContext(layout, job.display_name, job.run_config, job.is_test))


@dataclass(frozen=True)
class GeneratedRun:
    """A run whose images are generated: what packaging and settlement work from."""

    loaded: LoadedRun
    store: ObjectStore
    database: db.Database
    specs: list[GenerationSpec]
    resolution: dict[str, Any]
    outcomes: list[GenerationOutcome]
    findings: ImageFindings | None = None  # what the generation step found the images to be

    @property
    def run(self) -> RunContext:
        return self.loaded.run

    @property
    def layout(self) -> RunLayout:
        return self.loaded.layout


def load_generated_run(database: db.Database, store: ObjectStore, run_id: str) -> GeneratedRun:
    loaded = load_run(database, run_id)
    frozen = resolved_prompts(store, loaded.layout)
    recorded = recorded_outcomes(database, run_id)
    outcomes = collect_outcomes(store, loaded.run, frozen.specs, recorded)
    findings = read_findings(store, loaded.layout)
    return GeneratedRun(
        loaded, store, database, frozen.specs, frozen.resolution, outcomes, findings
    )


def leased(step: Callable[..., Any]) -> Callable[..., Any]:
    """The step holds the job's lease while it runs, whichever process runs it: a killed
    executor stops renewing it, and the lease watch takes the job over.

    The step also claims the job for its Dagster run first: a re-execution from failure starts
    at the failed step, not at resolved_prompts, and its job must be processing again (a
    failed job's re-execution counts as a retry) before it settles."""

    @functools.wraps(step)
    def holding_lease(context: dg.AssetExecutionContext, **resources: Any) -> Any:
        database = resources["database"].get_database()
        seconds = resources["database"].lease_seconds
        status = claim_for_run(database, context.partition_key, context.run_id, seconds)
        # A processing job's claim has just taken the lease; a cancelling one's is left alone
        # by the claim, so the keeper renews it at once, as at every step.
        with LeaseKeeper(
            database,
            context.partition_key,
            context.run_id,
            seconds,
            renew_at_start=status != JobStatus.PROCESSING,
        ):
            return step(context, **resources)

    return holding_lease

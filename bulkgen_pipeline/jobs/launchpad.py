"""queue_bulk_run: how an operator starts a run from the Dagster launchpad.

It queues through the same validation and credit reservation as the CLI and the API; the queue
sensor then launches the partitioned run.
"""

import dagster as dg

from ..db import InsufficientCredits
from ..domain.errors import PresetValidationError
from ..resources.database import DatabaseResource
from ..runs.queueing import NotFound, queue_preset_run


class QueueRunConfig(dg.Config):
    user_id: str
    preset_id: str
    count: int | None = None  # defaults to the preset's own generation_count


@dg.op(description="Validate the preset, reserve credits and queue the bulk run")
def queue_run_op(
    context: dg.OpExecutionContext, config: QueueRunConfig, database: DatabaseResource
) -> str:
    try:
        run_id = queue_preset_run(
            database.get_database(),
            user_id=config.user_id,
            preset_id=config.preset_id,
            count=config.count,
        )
    except PresetValidationError as exc:
        # Shown on the run page: the operator sees which field is wrong and what is allowed.
        raise dg.Failure(
            description=str(exc),
            metadata={"problems": dg.MetadataValue.json([p.to_dict() for p in exc.problems])},
        ) from None
    except (NotFound, InsufficientCredits) as exc:
        raise dg.Failure(description=str(exc)) from None
    context.log.info(f"queued bulk run {run_id}; the queued_bulk_jobs sensor will launch it")
    context.add_output_metadata({"run_id": run_id})
    return run_id


@dg.job(description="Queue a bulk run for a user's preset (operators' entry point)")
def queue_bulk_run() -> None:
    queue_run_op()

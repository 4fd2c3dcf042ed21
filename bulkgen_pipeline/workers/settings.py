"""The run workers' settings, read from the environment like every other bulkgen setting."""

from __future__ import annotations

from pydantic import Field

from ..config import EnvSettings

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"


class WorkerSettings(EnvSettings):
    # May carry a password: kept out of repr, never logged.
    broker_url: str = Field(
        default=DEFAULT_BROKER_URL, validation_alias="BULKGEN_BROKER_URL", repr=False
    )
    # One run at a time per slot; match the run queue's max_concurrent_runs (deploy/dagster.yaml).
    concurrency: int = Field(
        default=20, ge=1, le=512, validation_alias="BULKGEN_WORKER_CONCURRENCY"
    )
    # How long a run's heartbeat outlives its last beat (a slot beats six times in that span):
    # a run whose slot died is noticed by run monitoring this long after, and its job resumed.
    heartbeat_expires_seconds: int = Field(
        default=30, ge=2, le=3600, validation_alias="BULKGEN_WORKER_HEARTBEAT_EXPIRES_SECONDS"
    )

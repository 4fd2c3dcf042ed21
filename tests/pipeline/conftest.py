"""A bulkgen deployment in a temp folder: database, object store, Dagster instance, a user."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from bulkgen_pipeline import db
from bulkgen_pipeline.definitions import BULK_ASSETS
from bulkgen_pipeline.providers.base import (
    ImageRequest,
    ImageResult,
    PermanentProviderError,
)
from bulkgen_pipeline.providers.preview import LocalPreviewProvider
from bulkgen_pipeline.providers.router import ImageRouter
from bulkgen_pipeline.resources.database import DatabaseResource
from bulkgen_pipeline.resources.images import ImageGenerationResource
from bulkgen_pipeline.resources.object_store import ObjectStoreResource
from bulkgen_pipeline.runs.presets import create_preset
from bulkgen_pipeline.runs.queueing import queue_preset_run
from bulkgen_pipeline.storage import open_object_store

from ..conftest import premigrated, seed_dagster_storage

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


class SimulatedCrash(BaseException):
    """Not an Exception: escapes per-generation handling, like a worker dying mid-run."""


CALLS: list[str] = []  # prompts the scripted provider was asked for, across the test


class ScriptedProvider(LocalPreviewProvider):
    name = "scripted"

    def __init__(self, fail_prompts: set[str], crash_after: int | None):
        super().__init__()
        self.fail_prompts = fail_prompts
        self.crash_after = crash_after

    def generate(self, request: ImageRequest) -> ImageResult:
        if self.crash_after is not None and len(CALLS) >= self.crash_after:
            raise SimulatedCrash("worker died")
        CALLS.append(request.prompt)
        if request.prompt in self.fail_prompts or "*" in self.fail_prompts:
            raise PermanentProviderError(
                "the scripted provider refuses this prompt", provider=self.name
            )
        result = super().generate(request)
        return ImageResult(result.image_bytes, self.name, "scripted-1", request.seed, 0.001, 1)


class ScriptedImages(ImageGenerationResource):
    """The real router over a provider whose failures and crashes the test scripts."""

    fail_prompts: list[str] = []
    crash_after: int | None = None

    def get_router(self) -> ImageRouter:
        provider = ScriptedProvider(set(self.fail_prompts), self.crash_after)
        # One worker: the crash point (after N calls) is then exact.
        return ImageRouter([provider], concurrency={"scripted": 1})


@dataclass
class Deployment:
    database_url: str
    storage_url: str
    instance: dg.DagsterInstance

    @property
    def database(self) -> db.Database:
        return db.shared_database(self.database_url)

    @property
    def store(self):
        return open_object_store(self.storage_url)

    def resources(self, images: ImageGenerationResource | None = None) -> dict[str, Any]:
        return {
            "database": DatabaseResource(url=self.database_url),
            "object_store": ObjectStoreResource(storage_url=self.storage_url),
            "images": images or ImageGenerationResource(providers="local"),
        }

    def user(self, credits: int = 100) -> str:
        with self.database.session() as session:
            return db.create_user(session, "Test merchant", credits).user_id

    def preset(self, user_id: str, **config: Any) -> str:
        data = json.loads((EXAMPLES / "professional_bags.json").read_text())
        data["config"].update(config)
        return create_preset(self.database, user_id, data)

    def queue(self, user_id: str, preset_id: str, count: int | None = None) -> str:
        run_id = queue_preset_run(self.database, user_id=user_id, preset_id=preset_id, count=count)
        self.instance.add_dynamic_partitions("bulk_runs", [run_id])
        return run_id

    def materialize(
        self, run_id: str, images: ImageGenerationResource | None = None, **kwargs: Any
    ):
        return dg.materialize(
            BULK_ASSETS,
            partition_key=run_id,
            instance=self.instance,
            resources=self.resources(images),
            raise_on_error=False,
            **kwargs,
        )

    def job(self, run_id: str) -> dict[str, Any]:
        with self.database.session() as session:
            return db.job_status_dict(session, run_id)

    def balance(self, user_id: str):
        with self.database.session() as session:
            return db.get_user(session, user_id)


@pytest.fixture
def scripted_calls():
    CALLS.clear()
    yield CALLS
    CALLS.clear()


@pytest.fixture
def local_deployment(tmp_path: Path, request: pytest.FixtureRequest):
    """SQLite (a copy of the session's migrated one), a local folder and a test instance."""
    url = premigrated(request, f"sqlite:///{tmp_path / 'bulkgen.db'}")
    dagster_dir = seed_dagster_storage(tmp_path / "dagster")
    with dg.instance_for_test(temp_dir=str(dagster_dir)) as instance:
        yield Deployment(url, str(tmp_path / "storage"), instance)

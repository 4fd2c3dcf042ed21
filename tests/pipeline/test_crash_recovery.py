"""kill -9 of a real `bulkgen run` mid-way: the job is not left processing with its credits.
The lease watch resumes it (only the missing images are made), or `bulkgen resume` does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from bulkgen_pipeline import db
from bulkgen_pipeline.assets.partitions import BULK_RUN_PARTITIONS
from bulkgen_pipeline.config import Settings
from bulkgen_pipeline.definitions import BULK_ASSETS
from bulkgen_pipeline.resources.database import DatabaseResource
from bulkgen_pipeline.resources.images import ImageGenerationResource
from bulkgen_pipeline.resources.object_store import ObjectStoreResource
from bulkgen_pipeline.runs.leases import recover_stranded
from bulkgen_pipeline.runs.presets import create_preset
from bulkgen_pipeline.sensors.failures import PARTITION_TAG, bulk_run_failures
from bulkgen_pipeline.sensors.queue import queued_bulk_jobs

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LEASE = 2.0


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BULKGEN_", "DAGSTER_"))}
    env.update(
        BULKGEN_HOME=str(home),
        BULKGEN_PROVIDERS="local",
        BULKGEN_LOCAL_SECONDS_PER_IMAGE="0.4",
        BULKGEN_LOCAL_CONCURRENCY="1",
        BULKGEN_LEASE_SECONDS=str(LEASE),
    )
    return env


def _start_and_kill(home: Path, env: dict[str, str], count: int) -> tuple[db.Database, str, str]:
    """A merchant, a `bulkgen run` killed with SIGKILL after two images; returns the job."""
    settings = Settings.from_env(env)
    database = db.shared_database(settings.database_url)
    with database.session() as session:
        user_id = db.create_user(session, "Shop", 10).user_id
    preset = json.loads((EXAMPLES / "professional_bags.json").read_text())
    preset_id = create_preset(database, user_id, preset)
    process = subprocess.Popen(
        [sys.executable, "-m", "bulkgen_pipeline.cli", "run", "--user", user_id,
         "--preset", preset_id, "--count", str(count)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    run_id = None
    while time.monotonic() < deadline:
        with database.session(readonly=True) as session:
            jobs = db.list_user_jobs(session, user_id).jobs
            if jobs:
                run_id = jobs[0].run_id
                done = [i for i in db.list_items(session, run_id) if i.status == "succeeded"]
                if len(done) >= 2:
                    break
        time.sleep(0.1)
    else:
        process.kill()
        raise AssertionError("the run never made two images")
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert run_id is not None
    return database, user_id, run_id


def test_a_killed_run_is_resumed_by_the_lease_watch_making_only_missing_images(tmp_path):
    home = tmp_path / "home"
    env = _env(home)
    database, user_id, run_id = _start_and_kill(home, env, count=6)
    with database.session(readonly=True) as session:
        job = db.get_job(session, run_id)
        made_before = {i.object_key for i in db.list_items(session, run_id) if i.object_key}
        assert job.status == "processing" and db.get_user(session, user_id).credits_reserved == 6
    storage = Path(Settings.from_env(env).storage_url)
    stamps = {key: (storage / key).stat().st_mtime_ns for key in made_before}

    # Still within its lease: nothing happens yet. Once expired, the watch queues it again.
    assert recover_stranded(database, lease_seconds=LEASE, max_resumes=3) == {}
    time.sleep(LEASE + 0.5)
    assert recover_stranded(database, lease_seconds=LEASE, max_resumes=3) == {run_id: "queued"}

    # The daemon's part: the queue sensor asks for a new run of the partition, which runs.
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        resources = {
            "database": DatabaseResource(url=Settings.from_env(env).database_url),
            "object_store": ObjectStoreResource(storage_url=str(storage)),
            "images": ImageGenerationResource(providers="local"),
        }
        result = queued_bulk_jobs(dg.build_sensor_context(instance=instance, resources=resources))
        [request] = result.run_requests
        assert (request.run_key, request.partition_key) == (f"{run_id}:resume1", run_id)
        instance.add_dynamic_partitions(BULK_RUN_PARTITIONS, [run_id])
        assert dg.materialize(
            BULK_ASSETS, partition_key=run_id, instance=instance, resources=resources
        ).success

    _assert_completed_once(database, run_id, user_id, storage, stamps)


def test_bulkgen_resume_takes_a_killed_run_over_at_once(tmp_path):
    home = tmp_path / "home"
    env = _env(home)
    database, user_id, run_id = _start_and_kill(home, env, count=4)
    done = subprocess.run(
        [sys.executable, "-m", "bulkgen_pipeline.cli", "resume", run_id],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout)
    assert (summary["status"], summary["completed_images"]) == ("completed", 4)
    with database.session(readonly=True) as session:
        user = db.get_user(session, user_id)
    assert (user.credits_balance, user.credits_reserved) == (6, 0)


def test_a_run_whose_worker_died_is_resumed_at_once_by_the_failure_sensor(tmp_path):
    """Dagster notices a dead run worker (its code server or run monitoring marks the run failed,
    no step having failed) long before the job's lease runs out: the job is resumed, not failed,
    and the lease watch, coming second, finds nothing left to do."""
    home = tmp_path / "home"
    env = {**_env(home), "BULKGEN_LEASE_SECONDS": "600"}
    database, user_id, run_id = _start_and_kill(home, env, count=6)
    settings = Settings.from_env(env)
    with database.session(readonly=True) as session:
        made_before = {i.object_key for i in db.list_items(session, run_id) if i.object_key}
    storage = Path(settings.storage_url)
    stamps = {key: (storage / key).stat().st_mtime_ns for key in made_before}
    resources = {
        "database": DatabaseResource(url=settings.database_url),
        "object_store": ObjectStoreResource(storage_url=str(storage)),
        "images": ImageGenerationResource(providers="local"),
    }

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(settings.dagster_home))) as instance:
        [killed] = instance.get_runs(filters=dg.RunsFilter(tags={PARTITION_TAG: run_id}))
        assert killed.status == dg.DagsterRunStatus.STARTED  # nobody told Dagster yet
        # What Dagster's code server does when its run worker exits without ending the run.
        instance.report_run_failed(killed)
        failure = next(
            r.dagster_event
            for r in instance.all_logs(killed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        )
        context = dg.build_run_status_sensor_context(
            sensor_name="bulk_run_failures",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(killed.run_id),
            resources={"database": resources["database"]},
        ).for_run_failure()
        bulk_run_failures(context)
        bulk_run_failures(context)  # a sensor may see the same event twice: one resume only

        with database.session(readonly=True) as session:
            job = db.get_job(session, run_id)
            assert (job.status, job.resume_count) == ("queued", 1)
            assert db.get_user(session, user_id).credits_reserved == 6  # still reserved
        # The lease watch comes second and leaves the job alone.
        assert recover_stranded(database, lease_seconds=0, max_resumes=3) == {}

        result = queued_bulk_jobs(dg.build_sensor_context(instance=instance, resources=resources))
        [request] = result.run_requests
        assert request.run_key == f"{run_id}:resume1"
        assert dg.materialize(
            BULK_ASSETS, partition_key=run_id, instance=instance, resources=resources
        ).success

    _assert_completed_once(database, run_id, user_id, storage, stamps)


def _assert_completed_once(database, run_id: str, user_id: str, storage: Path, stamps) -> None:
    """The resumed 6-image job completed, each image charged once (4 of 10 credits left), and
    the images made before the kill were kept, not made again (`stamps`: their mtimes)."""
    with database.session(readonly=True) as session:
        job = db.get_job(session, run_id)
        user = db.get_user(session, user_id)
        assert db.credit_invariant_violations(session) == []
    assert (job.status, job.completed_images, job.credits_consumed) == ("completed", 6, 6)
    assert (user.credits_balance, user.credits_reserved) == (4, 0)
    assert {key: (storage / key).stat().st_mtime_ns for key in stamps} == stamps

"""The queue sensor (queued jobs only, run key per pass) and the run-failure path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
from click.testing import CliRunner
from dagster._core.storage.tags import RUN_KEY_TAG

from bulkgen_pipeline import db
from bulkgen_pipeline.cli import main
from bulkgen_pipeline.cli import runs as cli_runs
from bulkgen_pipeline.definitions import build_definitions
from bulkgen_pipeline.domain.priority import Priority
from bulkgen_pipeline.jobs.in_process import execute_bulk_run
from bulkgen_pipeline.resources.database import DatabaseResource
from bulkgen_pipeline.runs.queueing import queue_preset_run, start_run
from bulkgen_pipeline.sensors.failures import (
    bulk_run_cancellations,
    bulk_run_failures,
    failure_message,
    unexpected_step_error,
)
from bulkgen_pipeline.sensors.queue import queued_bulk_jobs
from tests.production_limits import production_run_queue

from .conftest import ScriptedImages


def evaluate(deployment):
    context = dg.build_sensor_context(
        instance=deployment.instance,
        resources={"database": DatabaseResource(url=deployment.database_url)},
    )
    return queued_bulk_jobs(context)


def test_a_run_that_chose_its_model_is_tagged_with_it_for_the_ui(local_deployment):
    d = local_deployment
    user = d.user(credits=100)
    chosen = d.preset(user, model="local-preview-v1", steps=10)
    default = d.preset(user)
    first = queue_preset_run(d.database, user_id=user, preset_id=chosen, count=1)
    second = queue_preset_run(d.database, user_id=user, preset_id=default, count=1)
    tags = {r.run_key: r.tags for r in evaluate(d).run_requests}
    assert tags[first]["model"] == "local-preview-v1"
    assert "model" not in tags[second]  # bulkgen chooses: no model to filter by
    # The tag is one Dagster takes on a real run (the UI filters runs by it).
    run = d.instance.create_run_for_job(
        build_definitions().resolve_job_def("bulk_generation"), tags=tags[first]
    )
    assert run.tags["model"] == "local-preview-v1"


def test_sensor_requests_queued_jobs_only_keyed_by_run_and_pass(local_deployment):
    d = local_deployment
    user = d.user(credits=100)
    preset = d.preset(user)
    runs = [queue_preset_run(d.database, user_id=user, preset_id=preset, count=2) for _ in range(3)]
    with d.database.session() as session:
        assert db.request_cancel(session, runs[1]) == "cancelled"

    first = evaluate(d)
    assert [r.run_key for r in first.run_requests] == [runs[0], runs[2]]
    assert [r.partition_key for r in first.run_requests] == [runs[0], runs[2]]
    assert first.run_requests[0].tags == {"user_id": user, "preset_id": preset, "category": "bags"}
    assert first.dynamic_partitions_requests[0].partition_keys == [runs[0], runs[2]]
    assert d.balance(user).credits_reserved == 4  # the cancelled job gave its reservation back

    # Once its run has started, a job is no longer asked for.
    with d.database.session() as session:
        db.mark_job_processing(session, runs[0], "dagster-run-1")
    assert [r.run_key for r in evaluate(d).run_requests] == [runs[2]]

    # A retry-failed pass of a settled run is a new run key on the same partition.
    with d.database.session() as session:
        db.fail_job(session, runs[0], "provider down", dagster_run_id="dagster-run-1")
        db.requeue_failed(session, runs[0])
    again = evaluate(d)
    assert [(r.run_key, r.partition_key) for r in again.run_requests] == [
        (runs[0] + ":pass1", runs[0]),
        (runs[2], runs[2]),
    ]


def test_sensor_takes_at_most_100_jobs_a_tick(local_deployment, monkeypatch):
    monkeypatch.setenv("BULKGEN_MAX_ACTIVE_JOBS_PER_USER", "1000")
    d = local_deployment
    user = d.user(credits=1000)
    preset = d.preset(user)
    runs = [
        queue_preset_run(d.database, user_id=user, preset_id=preset, count=1) for _ in range(105)
    ]
    first = evaluate(d)
    assert [r.run_key for r in first.run_requests] == runs[:100]
    with d.database.session() as session:
        for run_id in runs[:100]:
            db.mark_job_processing(session, run_id, None)
    assert [r.run_key for r in evaluate(d).run_requests] == runs[100:]


def test_claimed_jobs_are_not_launched_by_the_sensor(local_deployment):
    d = local_deployment
    user = d.user()
    claimed = queue_preset_run(
        d.database, user_id=user, preset_id=d.preset(user), count=1, claim=True
    )
    assert claimed not in [r.run_key for r in evaluate(d).run_requests]


def test_cli_retry_never_shows_the_pass_it_executes_as_queued(
    local_deployment, monkeypatch, tmp_path
):
    """`bulkgen retry-failed` executes the new pass itself: had the pass been committed queued
    before the CLI claimed it, a daemon's queue sensor could launch it a second time. The
    sensor's selection runs after every transaction the command commits and never finds it."""
    d = local_deployment
    user = d.user()
    run_id = d.queue(user, d.preset(user), count=2)
    with d.database.session() as session:
        db.mark_job_processing(session, run_id, "dagster-run-1")
        db.fail_job(session, run_id, "provider down", dagster_run_id="dagster-run-1")
    selections: list[list[str]] = []
    session = d.database.session

    @contextmanager
    def observed(*, readonly: bool = False) -> Iterator[Any]:
        with session(readonly=readonly) as opened:
            yield opened
        if not readonly:  # the sensor's own sessions are read-only
            selections.append([r.partition_key for r in evaluate(d).run_requests])

    monkeypatch.setattr(d.database, "session", observed)
    executed: list[str] = []

    def run_now(job_id: str, settings: Any, database: db.Database) -> dict[str, Any]:
        with database.session(readonly=True) as s:
            executed.append(db.get_job(s, job_id).status)
        return {"status": "completed"}

    monkeypatch.setattr(cli_runs, "run_now", run_now)
    monkeypatch.setattr(cli_runs, "summary_of", lambda status, settings: status)
    monkeypatch.setenv("BULKGEN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BULKGEN_DATABASE_URL", d.database_url)
    monkeypatch.setenv("BULKGEN_STORAGE_URL", d.storage_url)
    result = CliRunner().invoke(main, ["retry-failed", run_id])

    assert result.exit_code == 0, result.output
    assert selections and all(run_id not in selected for selected in selections)
    assert executed == ["processing"]
    with d.database.session(readonly=True) as s:
        assert db.get_job(s, run_id).pass_number == 1


def test_failed_run_marks_job_failed_releases_reservation_keeps_images(
    local_deployment, scripted_calls
):
    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user))
    definitions = build_definitions(d.resources(ScriptedImages(crash_after=2)))

    status = execute_bulk_run(
        run_id, definitions=definitions, database=d.database, instance=d.instance
    )
    assert status["status"] == "failed"
    # A sentence naming what the run was doing; the exception stays in the event log.
    assert status["error"] == unexpected_step_error("generated_images")
    assert "generating the images" in status["error"]
    assert "SimulatedCrash" not in status["error"] and "dagster" not in status["error"]
    account = d.balance(user)
    assert (account.credits_balance, account.credits_reserved) == (10, 0)
    with d.database.session() as session:
        kept = [i for i in db.list_items(session, run_id) if i.status == "succeeded"]
    assert len(kept) == 2
    assert all(d.store.exists(i.object_key) for i in kept)


def test_failure_sensor_uses_the_assets_failure_text(local_deployment, scripted_calls):
    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user))
    definitions = build_definitions(d.resources(ScriptedImages(fail_prompts=["*"])))
    result = definitions.resolve_job_def("bulk_generation").execute_in_process(
        partition_key=run_id, instance=d.instance, raise_on_error=False
    )
    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert failure_message(failures, "fallback") == "No images were generated successfully"

    run = d.instance.get_run_by_id(result.run_id)
    failure_event = next(
        e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE
    )
    context = dg.build_run_status_sensor_context(
        sensor_name="bulk_run_failures",
        dagster_event=failure_event,
        dagster_instance=d.instance,
        dagster_run=run,
        resources={"database": DatabaseResource(url=d.database_url)},
    ).for_run_failure()
    bulk_run_failures(context)
    job = d.job(run_id)
    assert (job["status"], job["error"]) == ("failed", "No images were generated successfully")
    assert (d.balance(user).credits_balance, d.balance(user).credits_reserved) == (10, 0)


def test_operators_queue_a_run_from_the_launchpad_job(local_deployment):
    d = local_deployment
    user = d.user(credits=10)
    preset = d.preset(user)
    definitions = build_definitions(d.resources())
    job = definitions.resolve_job_def("queue_bulk_run")

    config = {
        "ops": {"queue_run_op": {"config": {"user_id": user, "preset_id": preset, "count": 3}}}
    }
    result = job.execute_in_process(run_config=config, instance=d.instance)
    run_id = result.output_for_node("queue_run_op")
    assert d.job(run_id)["status"] == "queued" and d.balance(user).credits_reserved == 3
    assert [r.run_key for r in evaluate(d).run_requests] == [run_id]

    too_many = {
        "ops": {"queue_run_op": {"config": {"user_id": user, "preset_id": preset, "count": 80}}}
    }
    failed = job.execute_in_process(run_config=too_many, instance=d.instance, raise_on_error=False)
    assert not failed.success
    failure = next(e for e in failed.all_events if e.is_step_failure)
    assert failure.step_failure_data.user_failure_data.description == (
        "generation_count: must be between 1 and 50, got 80"
    )


def test_definitions_load_as_the_ui_and_daemon_load_them():
    from bulkgen_pipeline.definitions import defs

    dg.Definitions.validate_loadable(defs)
    repository = defs.get_repository_def()
    assert {s.name for s in repository.sensor_defs} == {
        "queued_bulk_jobs",
        "bulk_run_failures",
        "bulk_run_cancellations",
        "stranded_jobs",
        "settled_runs_to_analytics",
        "scheduled_starts",
    }
    assert {"bulk_generation", "queue_bulk_run"} <= {j.name for j in repository.get_all_jobs()}


def _status_context(deployment, run, event_type):
    event = next(
        record.dagster_event
        for record in deployment.instance.all_logs(run.run_id)
        if record.dagster_event and record.dagster_event.event_type == event_type
    )
    return dg.build_run_status_sensor_context(
        sensor_name="bulk_run_status",
        dagster_event=event,
        dagster_instance=deployment.instance,
        dagster_run=deployment.instance.get_run_by_id(run.run_id),
        resources={"database": DatabaseResource(url=deployment.database_url)},
    )


def test_a_run_cancelled_in_dagster_cancels_the_job_and_releases_credits(local_deployment):
    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user), count=4)
    # An operator terminates the run while it waits in the run queue.
    run = d.instance.create_run_for_job(
        build_definitions(d.resources()).resolve_job_def("bulk_generation"),
        tags={"dagster/partition": run_id},
    )
    d.instance.report_run_canceled(run)

    bulk_run_cancellations(_status_context(d, run, dg.DagsterEventType.RUN_CANCELED))
    job = d.job(run_id)
    assert (job["status"], job["error"]) == ("cancelled", "The Dagster run was cancelled")
    assert d.balance(user).credits_reserved == 0


def test_a_late_failure_of_a_superseded_run_leaves_the_retry_alone(local_deployment):
    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user), count=2)
    job_def = build_definitions(d.resources()).resolve_job_def("bulk_generation")
    old = d.instance.create_run_for_job(job_def, tags={"dagster/partition": run_id})
    d.instance.report_run_failed(old)
    with d.database.session() as session:  # an operator's re-execution is already working
        db.mark_job_processing(session, run_id, "retry-run-id")

    bulk_run_failures(_status_context(d, old, dg.DagsterEventType.RUN_FAILURE).for_run_failure())
    assert d.job(run_id)["status"] == "processing"
    assert d.balance(user).credits_reserved == 2


def test_the_database_password_never_reaches_the_dagster_ui(monkeypatch):
    from dagster._core.remote_representation.external_data import RepositorySnap

    from bulkgen_pipeline.config import Settings
    from bulkgen_pipeline.definitions import build_resources

    monkeypatch.setenv("BULKGEN_DATABASE_URL", "postgresql+psycopg2://bob:s3cretpw@db:5432/app")
    definitions = build_definitions(build_resources(Settings.from_env()))
    snapshot = RepositorySnap.from_def(definitions.get_repository_def())
    shown = str([resource.configured_values for resource in snapshot.resources])
    assert "s3cretpw" not in shown and "BULKGEN_DATABASE_URL" in shown


def test_a_run_that_could_not_initialise_fails_its_job_instead_of_resuming_it(local_deployment):
    """No step failed, but the run itself was broken (its resources did not start): resuming
    would fail the same way, so the job fails with the reason, its credits released."""
    from dagster._core.events import JobFailureData, RunFailureReason

    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user), count=2)
    job_def = build_definitions(d.resources()).resolve_job_def("bulk_generation")
    run = d.instance.create_run_for_job(job_def, tags={"dagster/partition": run_id})
    with d.database.session() as session:
        db.mark_job_processing(session, run_id, run.run_id)
    d.instance.report_run_failed(
        run,
        "resource 'database' failed to initialise",
        JobFailureData(error=None, failure_reason=RunFailureReason.JOB_INITIALIZATION_FAILURE),
    )
    bulk_run_failures(_status_context(d, run, dg.DagsterEventType.RUN_FAILURE).for_run_failure())
    job = d.job(run_id)
    assert (job["status"], job["error"]) == ("failed", "resource 'database' failed to initialise")
    assert d.balance(user).credits_reserved == 0


def test_a_high_priority_job_is_handed_over_first_within_the_merchant_s_run_limit(
    local_deployment, tmp_path
):
    d = local_deployment
    shop, other = d.user(credits=100), d.user(credits=100)
    preset, other_preset = d.preset(shop), d.preset(other)
    normal = [
        queue_preset_run(d.database, user_id=shop, preset_id=preset, count=1) for _ in range(4)
    ]
    urgent = start_run(
        d.database, user_id=shop, preset_id=preset, count=1, priority=Priority.HIGH
    ).job_id
    later = queue_preset_run(d.database, user_id=other, preset_id=other_preset, count=1)
    limited = production_run_queue()
    job_def = build_definitions().resolve_job_def("bulk_generation")
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides=limited) as instance:

        def tick() -> list:
            context = dg.build_sensor_context(
                instance=instance,
                resources={"database": DatabaseResource(url=d.database_url)},
            )
            requests = queued_bulk_jobs(context).run_requests or []
            for request in requests:  # what the daemon does with each new run key
                if not instance.get_runs(dg.RunsFilter(tags={RUN_KEY_TAG: request.run_key})):
                    instance.create_run_for_job(
                        job_def, tags={**request.tags, RUN_KEY_TAG: request.run_key}
                    )
            return [r.run_key for r in requests]

        # The high-priority job goes first among the shop's, then its two oldest; the other
        # merchant's job, queued last, is not held back by the shop's backlog.
        first = tick()
        assert first == [urgent, normal[0], normal[1], later]
        assert tick() == first  # three of the shop's are in Dagster's hands: no more
        (urgent_run,) = instance.get_runs(dg.RunsFilter(tags={RUN_KEY_TAG: urgent}))
        assert urgent_run.tags["priority"] == "high"
        instance.report_run_failed(urgent_run)  # one of them ends: room for the next
        with d.database.session() as session:
            db.fail_job(session, urgent, "ended for the test", dagster_run_id=urgent_run.run_id)
        assert tick() == [normal[0], normal[1], normal[2], later]

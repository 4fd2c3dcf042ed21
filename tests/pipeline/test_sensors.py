"""The queue sensor (cursor, dedupe, cancelled skipped) and the run-failure path."""

from __future__ import annotations

import dagster as dg

from bulkgen_pipeline import db
from bulkgen_pipeline.definitions import build_definitions
from bulkgen_pipeline.execution import execute_bulk_run
from bulkgen_pipeline.resources.database import DatabaseResource
from bulkgen_pipeline.runs.queueing import queue_preset_run
from bulkgen_pipeline.sensors.failures import bulk_run_failures, failure_message
from bulkgen_pipeline.sensors.queue import queued_bulk_jobs

from .conftest import ScriptedImages


def evaluate(deployment, cursor=None):
    context = dg.build_sensor_context(
        instance=deployment.instance,
        cursor=cursor,
        resources={"database": DatabaseResource(url=deployment.database_url)},
    )
    return queued_bulk_jobs(context)


def test_sensor_requests_each_queued_job_once_and_skips_cancelled(local_deployment):
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

    again = evaluate(d, cursor=first.cursor)
    assert not again.run_requests and again.cursor == first.cursor

    newer = queue_preset_run(d.database, user_id=user, preset_id=preset, count=2)
    later = evaluate(d, cursor=first.cursor)
    assert [r.run_key for r in later.run_requests] == [newer]


def test_sensor_takes_at_most_100_jobs_a_tick(local_deployment):
    d = local_deployment
    user = d.user(credits=1000)
    preset = d.preset(user)
    runs = [
        queue_preset_run(d.database, user_id=user, preset_id=preset, count=1) for _ in range(105)
    ]
    first = evaluate(d)
    assert len(first.run_requests) == 100
    second = evaluate(d, cursor=first.cursor)
    assert [r.run_key for r in second.run_requests] == runs[100:]


def test_claimed_jobs_are_not_launched_by_the_sensor(local_deployment):
    d = local_deployment
    user = d.user()
    claimed = queue_preset_run(
        d.database, user_id=user, preset_id=d.preset(user), count=1, claim=True
    )
    assert claimed not in [r.run_key for r in evaluate(d).run_requests]


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
    assert "worker died" in status["error"] or "generated_images" in status["error"]
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
        "count: must be between 1 and 50, got 80"
    )


def test_definitions_load_as_the_ui_and_daemon_load_them():
    from bulkgen_pipeline.definitions import defs

    dg.Definitions.validate_loadable(defs)
    repository = defs.get_repository_def()
    assert {s.name for s in repository.sensor_defs} == {"queued_bulk_jobs", "bulk_run_failures"}
    assert {"bulk_generation", "queue_bulk_run"} <= {j.name for j in repository.get_all_jobs()}

"""Operators in the Dagster UI: re-execute or terminate a bulk run however it was launched.

Everything goes through the GraphQL mutations the UI sends (`launchPipelineReexecution` with a
re-execution strategy, `terminateRuns` with a terminate policy), against the embedded instance
`bulkgen run` uses and a real code server loading the workspace `bulkgen dev` writes. Runs the
UI or the sensor asks for are launched by the daemon's run queue into a run worker, as in
`bulkgen dev`.
"""

from __future__ import annotations

import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from click.testing import CliRunner
from dagster._core.storage.dagster_run import RunsFilter
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
    QueuedRunCoordinatorDaemon,
)
from dagster_graphql.test.utils import define_out_of_process_context, execute_dagster_graphql

from bulkgen_pipeline import db
from bulkgen_pipeline.assets.partitions import BULK_RUN_PARTITIONS
from bulkgen_pipeline.cli import main
from bulkgen_pipeline.cli.servers import _write_workspace
from bulkgen_pipeline.config import Settings
from bulkgen_pipeline.definitions import build_definitions, build_resources
from bulkgen_pipeline.jobs.in_process import execute_bulk_run, prepare_dagster_home
from bulkgen_pipeline.jobs.location import CODE_LOCATION_NAME
from bulkgen_pipeline.resources.database import DatabaseResource
from bulkgen_pipeline.runs.presets import create_preset
from bulkgen_pipeline.runs.queueing import queue_preset_run
from bulkgen_pipeline.sensors.failures import PARTITION_TAG, RUN_KEY_TAG, bulk_run_cancellations
from bulkgen_pipeline.sensors.queue import queued_bulk_jobs

from .conftest import EXAMPLES, ScriptedImages

SECONDS_PER_IMAGE = 0.25  # one image at a time: a 12-image run lasts long enough to terminate
SLOW_RUN = 12
WAIT_SECONDS = 180

REEXECUTE = """
mutation LaunchPipelineReexecution($reexecutionParams: ReexecutionParams) {
  launchPipelineReexecution(reexecutionParams: $reexecutionParams) {
    __typename
    ... on LaunchRunSuccess { run { id } }
    ... on PythonError { message stack }
  }
}
"""
LAUNCH = """
mutation LaunchPipelineExecution($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { id } }
    ... on PythonError { message stack }
  }
}
"""
TERMINATE = """
mutation Terminate($runIds: [String!]!, $terminatePolicy: TerminateRunPolicy) {
  terminateRuns(runIds: $runIds, terminatePolicy: $terminatePolicy) {
    __typename
    ... on TerminateRunsResult {
      terminateRunResults {
        __typename
        ... on TerminateRunFailure { message }
        ... on TerminateRunSuccess { run { id canTerminate } }
        ... on PythonError { message }
      }
    }
  }
}
"""
UI_EXECUTION_TAGS = [{"key": "dagster/from_ui", "value": "true"}]


def wait_until(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Operator:
    """The embedded deployment, its Dagster UI (GraphQL) and its daemon's run queue."""

    settings: Settings
    instance: dg.DagsterInstance
    ui: Any  # WorkspaceRequestContext: what the webserver answers GraphQL with

    @property
    def database(self) -> db.Database:
        return db.shared_database(self.settings.database_url)

    def merchant(self, credits: int) -> tuple[str, str]:
        with self.database.session() as session:
            user_id = db.create_user(session, "Shop", credits).user_id
        preset = json.loads((EXAMPLES / "professional_bags.json").read_text())
        return user_id, create_preset(self.database, user_id, preset)

    def graphql(self, query: str, **variables: Any) -> dict[str, Any]:
        return execute_dagster_graphql(self.ui, query, variables).data

    def reexecute(self, parent_run_id: str, strategy: str) -> dg.DagsterRun:
        """The UI's "Re-execute all" / "Re-execute from failure", then the daemon's part."""
        answer = self.graphql(
            REEXECUTE,
            reexecutionParams={
                "parentRunId": parent_run_id,
                "strategy": strategy,
                "extraTags": UI_EXECUTION_TAGS,
            },
        )["launchPipelineReexecution"]
        assert answer["__typename"] == "LaunchRunSuccess", answer
        return self.launched(answer["run"]["id"])

    def launched(self, dagster_run_id: str) -> dg.DagsterRun:
        list(QueuedRunCoordinatorDaemon(interval_seconds=1).run_iteration(self.ui.process_context))
        return self.instance.get_run_by_id(dagster_run_id)

    def finished(self, dagster_run_id: str) -> dg.DagsterRun:
        return wait_until(
            lambda: (run := self.instance.get_run_by_id(dagster_run_id)).is_finished and run,
            f"run {dagster_run_id} to finish",
        )

    def terminate(self, dagster_run_id: str, policy: str) -> dict[str, Any]:
        answer = self.graphql(TERMINATE, runIds=[dagster_run_id], terminatePolicy=policy)
        (result,) = answer["terminateRuns"]["terminateRunResults"]
        return result

    def dagster_runs(self, run_id: str) -> list[dg.DagsterRun]:
        """The job's Dagster runs, newest first."""
        return list(self.instance.get_runs(RunsFilter(tags={PARTITION_TAG: run_id})))

    def images_made(self, run_id: str) -> int:
        with self.database.session(readonly=True) as session:
            return sum(1 for item in db.list_items(session, run_id) if item.status == "succeeded")

    def image_stamps(self, run_id: str) -> dict[str, int]:
        storage = Path(self.settings.storage_url)
        with self.database.session(readonly=True) as session:
            keys = [i.object_key for i in db.list_items(session, run_id) if i.object_key]
        return {key: (storage / key).stat().st_mtime_ns for key in keys}

    def books(self, user_id: str, run_id: str) -> tuple[int, int, list[tuple[str, int, int]]]:
        """(balance, reserved, the job's ledger), after checking the books balance."""
        with self.database.session(readonly=True) as session:
            assert db.credit_invariant_violations(session) == []
            user = db.get_user(session, user_id)
            ledger = [
                (e.kind, e.amount, e.pass_number) for e in db.ledger_entries(session, run_id=run_id)
            ]
        return user.credits_balance, user.credits_reserved, ledger

    def job_of(self, user_id: str) -> str | None:
        with self.database.session(readonly=True) as session:
            jobs = db.list_user_jobs(session, user_id).jobs
        return jobs[0].run_id if jobs else None

    def job(self, run_id: str) -> dict[str, Any]:
        with self.database.session(readonly=True) as session:
            return db.job_status_dict(session, run_id)


@pytest.fixture(scope="module")
def operator(tmp_path_factory) -> Iterator[Operator]:
    home = tmp_path_factory.mktemp("ui") / "home"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BULKGEN_HOME", str(home))
        env.setenv("DAGSTER_HOME", str(home / "dagster_home"))
        env.setenv("BULKGEN_PROVIDERS", "local")
        env.setenv("BULKGEN_LOCAL_SECONDS_PER_IMAGE", str(SECONDS_PER_IMAGE))
        env.setenv("BULKGEN_LOCAL_CONCURRENCY", "1")
        for name in ("BULKGEN_DATABASE_URL", "BULKGEN_STORAGE_URL"):
            env.delenv(name, raising=False)
        settings = Settings.from_env()
        dagster_home = prepare_dagster_home(settings)
        workspace = _write_workspace(dagster_home)  # the code location `bulkgen dev` serves
        with (
            dg.DagsterInstance.get() as instance,
            define_out_of_process_context(str(workspace), None, instance) as ui,
        ):
            yield Operator(settings, instance, ui)
    db.dispose_shared_databases()


def bulkgen_run(user_id: str, preset_id: str, count: int) -> tuple[int, dict[str, Any]]:
    """`bulkgen run` in this process (the main thread, as in a terminal)."""
    result = CliRunner().invoke(
        main,
        ["run", "--user", user_id, "--preset", preset_id, "--count", str(count)],
        catch_exceptions=False,
    )
    return result.exit_code, json.loads(result.stdout)


def test_reexecuting_a_failed_cli_run_from_failure_makes_only_the_missing_images(operator):
    user_id, preset_id = operator.merchant(credits=10)
    # What `bulkgen run` does, with a provider that dies after two images.
    run_id = queue_preset_run(
        operator.database, user_id=user_id, preset_id=preset_id, count=5, claim=True
    )
    resources = {**build_resources(operator.settings), "images": ScriptedImages(crash_after=2)}
    failed = execute_bulk_run(
        run_id,
        definitions=build_definitions(resources),
        database=operator.database,
        instance=operator.instance,
    )
    assert failed["status"] == "failed"
    assert operator.books(user_id, run_id)[:2] == (10, 0)
    (parent,) = operator.dagster_runs(run_id)
    # The run belongs to the code location the UI re-executes through (it had none before).
    assert parent.remote_job_origin.location_name == CODE_LOCATION_NAME
    made_before = operator.image_stamps(run_id)
    assert len(made_before) == 2

    child = operator.finished(operator.reexecute(parent.run_id, "FROM_FAILURE").run_id)

    assert child.status == dg.DagsterRunStatus.SUCCESS
    assert child.parent_run_id == parent.run_id
    started = {
        record.step_key
        for record in operator.instance.all_logs(
            child.run_id, of_type=dg.DagsterEventType.STEP_START
        )
    }
    assert "resolved_prompts" not in started and "run_settlement" in started
    job = operator.job(run_id)
    assert (job["status"], job["completed_images"], job["credits_consumed"]) == (
        "completed",
        5,
        5,
    )
    stamps = operator.image_stamps(run_id)
    assert len(stamps) == 5
    assert {key: stamps[key] for key in made_before} == made_before  # not made again
    balance, reserved, ledger = operator.books(user_id, run_id)
    assert (balance, reserved) == (5, 0)
    assert [kind for kind, _, _ in ledger].count("charge") == 1


def test_reexecuting_a_settled_cli_run_changes_and_charges_nothing(operator):
    user_id, preset_id = operator.merchant(credits=10)
    code, summary = bulkgen_run(user_id, preset_id, count=3)
    assert (code, summary["status"]) == (0, "completed")
    run_id = summary["job_id"]
    books = operator.books(user_id, run_id)
    assert books[:2] == (7, 0)
    stamps = operator.image_stamps(run_id)
    zip_names = zipfile.ZipFile(summary["zip"]).namelist()
    (parent,) = operator.dagster_runs(run_id)

    child = operator.finished(operator.reexecute(parent.run_id, "ALL_STEPS").run_id)

    assert child.status == dg.DagsterRunStatus.SUCCESS
    assert operator.books(user_id, run_id) == books  # nothing charged, reserved or released
    assert operator.image_stamps(run_id) == stamps
    assert zipfile.ZipFile(summary["zip"]).namelist() == zip_names
    job = operator.job(run_id)
    assert (job["status"], job["completed_images"], job["credits_consumed"]) == (
        "completed",
        3,
        3,
    )


def test_terminating_a_daemon_launched_run_cancels_the_job_and_releases_its_credits(operator):
    user_id, preset_id = operator.merchant(credits=20)
    run_id = queue_preset_run(
        operator.database, user_id=user_id, preset_id=preset_id, count=SLOW_RUN
    )
    # The run the queue sensor asks for, launched by the daemon's run queue into a run worker.
    resources = {"database": DatabaseResource(url=operator.settings.database_url)}
    sensor = queued_bulk_jobs(
        dg.build_sensor_context(instance=operator.instance, resources=resources)
    )
    (request,) = sensor.run_requests
    operator.instance.add_dynamic_partitions(BULK_RUN_PARTITIONS, [run_id])
    tags = {**request.tags, PARTITION_TAG: request.partition_key, RUN_KEY_TAG: request.run_key}
    answer = operator.graphql(
        LAUNCH,
        executionParams={
            "selector": {
                "repositoryLocationName": CODE_LOCATION_NAME,
                "repositoryName": "__repository__",
                "pipelineName": "bulk_generation",
            },
            "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
        },
    )["launchPipelineExecution"]
    assert answer["__typename"] == "LaunchRunSuccess", answer
    dagster_run_id = answer["run"]["id"]
    operator.launched(dagster_run_id)
    wait_until(lambda: operator.images_made(run_id) >= 2, "two images")

    result = operator.terminate(dagster_run_id, "SAFE_TERMINATE")  # the UI's "Terminate"

    assert result["__typename"] == "TerminateRunSuccess", result
    run = operator.finished(dagster_run_id)
    assert run.status == dg.DagsterRunStatus.CANCELED
    # The interrupted worker started no new image while it wound down.
    assert operator.images_made(run_id) < SLOW_RUN
    # The daemon's cancellation sensor, on the run's CANCELED event.
    (record,) = operator.instance.get_records_for_run(
        dagster_run_id, of_type=dg.DagsterEventType.RUN_CANCELED
    ).records
    bulk_run_cancellations(
        dg.build_run_status_sensor_context(
            sensor_name="bulk_run_cancellations",
            dagster_instance=operator.instance,
            dagster_run=run,
            dagster_event=record.event_log_entry.dagster_event,
            resources=resources,
        )
    )
    assert operator.job(run_id)["status"] == "cancelled"
    assert operator.books(user_id, run_id)[:2] == (20, 0)


@pytest.mark.parametrize("policy", ["SAFE_TERMINATE", "MARK_AS_CANCELED_IMMEDIATELY"])
def test_terminating_a_run_the_cli_executes_cancels_the_job_and_releases_its_credits(
    operator, policy
):
    user_id, preset_id = operator.merchant(credits=20)
    answers: list[dict[str, Any]] = []

    def operator_terminates() -> None:
        run_id = wait_until(lambda: operator.job_of(user_id), "the job")
        wait_until(lambda: operator.images_made(run_id) >= 2, "two images")
        (run,) = operator.dagster_runs(run_id)
        answers.append(operator.terminate(run.run_id, policy))

    ui = threading.Thread(target=operator_terminates)
    ui.start()
    try:
        code, summary = bulkgen_run(user_id, preset_id, count=SLOW_RUN)
    finally:
        ui.join(timeout=WAIT_SECONDS)
    (answer,) = answers
    if policy == "SAFE_TERMINATE":
        # The run launcher cannot reach a process it did not start, and says so; the bulkgen
        # process sees the request anyway.
        assert answer["__typename"] == "TerminateRunFailure", answer
    else:
        assert answer["__typename"] == "TerminateRunSuccess", answer

    run_id = summary["job_id"]
    assert (code, summary["status"], summary["credits_consumed"]) == (1, "cancelled", 0)
    (run,) = operator.dagster_runs(run_id)
    assert run.status == dg.DagsterRunStatus.CANCELED
    assert operator.images_made(run_id) < SLOW_RUN
    notes = [r.message for r in operator.instance.all_logs(run.run_id)]
    assert any("saw the termination request" in note for note in notes)
    assert operator.books(user_id, run_id)[:2] == (20, 0)

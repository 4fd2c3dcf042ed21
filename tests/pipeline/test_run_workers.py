"""The run workers' parts on their own: heartbeats and the launcher's health check (real
Redis), a slot handed a run that is no longer startable, and `bulkgen serve`'s settings check.
The whole path through real processes is tests/pipeline/test_burst.py."""

from __future__ import annotations

import json
import os

import dagster as dg
import pytest
import redis
from dagster._core.launcher.base import WorkerStatus

from bulkgen_pipeline.cli.production import REQUIRED
from bulkgen_pipeline.workers.execution import execute_launched_run
from bulkgen_pipeline.workers.launcher import CeleryRunLauncher
from bulkgen_pipeline.workers.liveness import RunHeartbeat, heartbeat_key
from tests.cli_support import bulkgen
from tests.isolation import RUN_WORKERS, redis_test_db

BROKER_DB = redis_test_db(RUN_WORKERS)  # this xdist worker's own


@pytest.fixture
def broker(redis_url):
    url = f"{redis_url}/{BROKER_DB}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url, client
    client.flushdb()


def _run(instance: dg.DagsterInstance) -> dg.DagsterRun:
    @dg.op
    def noop() -> None:
        pass

    @dg.job
    def tiny() -> None:
        noop()

    return instance.create_run_for_job(job_def=tiny)


def test_health_follows_the_heartbeat_from_running_to_done_and_a_missing_one_is_a_dead_worker(
    broker,
):
    url, client = broker
    launcher = CeleryRunLauncher(broker_url=url)
    with dg.instance_for_test() as instance:
        run = _run(instance)
        assert launcher.check_run_worker_health(run).status == WorkerStatus.FAILED
        with RunHeartbeat(client, run.run_id, every=0.05):
            assert launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
            assert client.ttl(heartbeat_key(run.run_id)) > 0  # it expires if nobody renews it
        assert launcher.check_run_worker_health(run).status == WorkerStatus.SUCCESS
        client.delete(heartbeat_key(run.run_id))  # the worker died and its beat expired
        health = launcher.check_run_worker_health(run)
        assert health.status == WorkerStatus.FAILED
        assert "no bulkgen worker" in (health.msg or "")


def test_the_heartbeat_expiry_is_a_setting_the_launcher_reports(broker, monkeypatch):
    url, client = broker
    monkeypatch.setenv("BULKGEN_WORKER_HEARTBEAT_EXPIRES_SECONDS", "4")
    launcher = CeleryRunLauncher(broker_url=url)
    with dg.instance_for_test() as instance:
        run = _run(instance)
        with RunHeartbeat(client, run.run_id, expires=4) as beat:
            assert beat.every == pytest.approx(4 / 6)  # six beats per expiry, as by default
            assert 0 < client.ttl(heartbeat_key(run.run_id)) <= 4
        client.delete(heartbeat_key(run.run_id))
        health = launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED
    assert "for 4 s" in (health.msg or "")


def test_an_unreachable_queue_is_no_reason_to_fail_a_run():
    launcher = CeleryRunLauncher(broker_url="redis://127.0.0.1:1/0")
    with dg.instance_for_test() as instance:
        health = launcher.check_run_worker_health(_run(instance))
    assert health.status == WorkerStatus.RUNNING
    assert "unreadable" in (health.msg or "")


def test_a_run_terminated_while_it_waited_for_a_slot_ends_cancelled_without_starting(broker):
    _, client = broker
    with dg.instance_for_test() as instance:
        run = _run(instance)
        instance.report_run_canceling(run)
        assert execute_launched_run(instance, client, run.run_id) == "cancelled before start"
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.CANCELED
        assert client.get(heartbeat_key(run.run_id)) is None  # no slot ever worked on it


def test_a_run_delivered_after_it_finished_is_left_alone(broker):
    _, client = broker
    with dg.instance_for_test() as instance:
        run = _run(instance)
        instance.report_run_failed(run, "failed by run monitoring")
        outcome = execute_launched_run(instance, client, run.run_id)
        assert outcome == "skipped: the run is FAILURE"
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE


def test_serve_names_every_setting_it_is_missing(monkeypatch):
    for name in REQUIRED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "")  # may be empty, but must be set
    code, answer = bulkgen("serve")
    assert code == 1
    missing = [name for name in REQUIRED if name != "DAGSTER_PG_PASSWORD"]
    assert answer["error"].endswith(", ".join(missing))
    assert "production.env.example" in answer["error"]


def test_the_example_environment_file_sets_everything_serve_needs():
    from tests.production_shape import REPO

    text = (REPO / "deploy" / "production.env.example").read_text()
    names = {line.split("=", 1)[0] for line in text.splitlines() if "=" in line and line[0] != "#"}
    assert set(REQUIRED) <= names


def test_a_worker_that_cannot_reach_its_database_exits_before_taking_any_run(tmp_path):
    """It prepares everything before Celery starts: a slot must never take a run it cannot
    execute (the run would wait out run monitoring's start timeout)."""
    import subprocess
    import sys

    env = {
        "PATH": os.environ["PATH"],
        "BULKGEN_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "BULKGEN_PROVIDERS": "local",
        "BULKGEN_DATABASE_URL": "postgresql://bulkgen:secret-pw@127.0.0.1:1/nowhere",
        "BULKGEN_BROKER_URL": f"redis://127.0.0.1:1/{BROKER_DB}",
    }
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    done = subprocess.run(
        [sys.executable, "-m", "bulkgen_pipeline.cli", "worker", "--concurrency", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    # The CLI's one JSON error, naming the variable, with the password hidden.
    answer = json.loads(done.stdout)
    assert "BULKGEN_DATABASE_URL" in answer["error"]
    assert "Connection refused" in answer["error"]
    assert "secret-pw" not in done.stderr + done.stdout


WARM_THEN_RUN = """
import io, json, sys
from bulkgen_pipeline.workers.warm import import_what_runs_import_on_first_use

import_what_runs_import_on_first_use()
before = set(sys.modules)

from PIL import Image
from bulkgen_pipeline.inspection import look_at, near_duplicates

pictures = []
for colour, fmt in (((200, 30, 30), "PNG"), ((30, 30, 200), "JPEG"), ((30, 200, 30), "WEBP")):
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), colour).save(buffer, fmt)
    pictures.append(look_at(buffer.getvalue(), "#C81E1E"))
near_duplicates({i: looks.perceptual_hash for i, looks in enumerate(pictures)})
# What the analytics refresh's assets import when they run (assets/analytics.py).
from bulkgen_pipeline.analytics import dataset, markdown, publish
from bulkgen_pipeline.analytics.facts import FACTS_PREFIX

print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_a_warm_slot_imports_nothing_more_to_check_images_or_refresh_analytics():
    """The worker's parent imports, before it forks its slots, what a run's image checks and the
    analytics refresh import on first use (scipy's DCT, pandas, PIL's plugins); whatever it
    missed, every slot would import again on its first such run."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", WARM_THEN_RUN], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == []


def test_the_termination_check_asks_once_per_interval_and_stays_true(monkeypatch):
    """Each image asks before it starts; the instance is asked at most once a second, and a
    terminate is seen by the first image to start after that second."""
    from bulkgen_pipeline.jobs import termination

    clock = [1000.0]
    monkeypatch.setattr(termination.time, "monotonic", lambda: clock[0])
    with dg.instance_for_test() as instance:
        run = _run(instance)
        asked = []
        real = termination.termination_requested
        monkeypatch.setattr(
            termination,
            "termination_requested",
            lambda *args: asked.append(args) or real(*args),
        )
        requested = termination.termination_check(instance, run.run_id, every=1.0)
        assert not requested() and not requested()
        instance.report_run_canceling(run)
        clock[0] += 0.5
        assert not requested()  # asked half a second ago
        clock[0] += 0.5
        assert requested() and len(asked) == 2
        clock[0] += 5
        assert requested() and len(asked) == 2  # true for good, never asked again

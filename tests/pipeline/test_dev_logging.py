"""What `bulkgen dev` tells its operator: a line when a job's run is launched and when it is
settled, and nothing per sensor tick nor any DEBUG line while it idles or refreshes analytics
(it once logged 117 "skipped: no queued job" and 227 DEBUG lines in ten idle minutes)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.definitions.run_request import InstigatorType

from bulkgen_pipeline import db
from bulkgen_pipeline.config import Settings
from bulkgen_pipeline.definitions import defs
from bulkgen_pipeline.domain.statuses import JobStatus
from bulkgen_pipeline.jobs.analytics import ANALYTICS_JOB_NAME
from bulkgen_pipeline.jobs.in_process import (
    _EARLIER_LOCAL_INSTANCE_YAMLS,
    _LOCAL_INSTANCE_YAML,
    _READY_MARKER,
    prepare_dagster_home,
)
from bulkgen_pipeline.runs.queueing import queue_prompt_batch
from tests.dev_process import http_status, wait_while_running
from tests.production_shape import free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# The daemon's slower sensors (lease watch, analytics refresh, run failures and cancellations)
# tick every 2 s here instead of every 30 s; the idle part waits until every sensor has ticked
# this often, rather than sleeping half a minute and more for the lease watch.
SENSOR_INTERVAL_SECONDS = 2
IDLE_TICKS = 3
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


def _every_sensor_ticked(instance: dg.DagsterInstance) -> bool:
    """Whether each of the code location's sensors has ticked IDLE_TICKS times yet."""
    ticks = {
        state.instigator_name: len(
            instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=IDLE_TICKS)
        )
        for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
    }
    return all(ticks.get(sensor.name, 0) >= IDLE_TICKS for sensor in defs.sensors)


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "killpg"), reason="bulkgen dev is for POSIX systems")
def test_an_idle_dev_server_is_quiet_and_says_when_a_job_runs_and_ends(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BULKGEN_", "DAGSTER_"))}
    env.update(
        {
            "BULKGEN_HOME": str(tmp_path / "home"),
            "BULKGEN_PROVIDERS": "local",
            "BULKGEN_SENSOR_INTERVAL_SECONDS": str(SENSOR_INTERVAL_SECONDS),
        }
    )
    settings = Settings.from_env(env)
    database = db.Database(settings.database_url)
    database.upgrade()
    with database.session() as session:
        user = db.create_user(session, "Ops", 10)

    api_port, dagster_port = free_port(), free_port()
    log_path = tmp_path / "dev.log"
    with log_path.open("wb") as log:
        dev = subprocess.Popen(
            [sys.executable, "-m", "bulkgen_pipeline.cli", "dev"]
            + ["--api-port", str(api_port), "--dagster-port", str(dagster_port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_while_running(
            lambda: http_status(f"http://127.0.0.1:{api_port}/healthz") == 200, "the API", 120, dev
        )
        # Idle until every sensor has ticked IDLE_TICKS times (each tick once logged a line).
        with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
            wait_while_running(
                lambda: _every_sensor_ticked(instance), "every sensor's idle ticks", 120, dev
            )
        batch = json.loads((EXAMPLES / "prompt_batch.json").read_text())
        job_id = queue_prompt_batch(database, user_id=user.user_id, batch=batch)

        def settled() -> bool:
            with database.session(readonly=True) as session:
                return JobStatus(db.get_job(session, job_id).status).is_final

        wait_while_running(settled, "the job to be launched and settled", 240, dev)
        # The refresh the settlement sets off: a run with no log level of its own.
        with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
            refreshed = dg.RunsFilter(
                job_name=ANALYTICS_JOB_NAME, statuses=[dg.DagsterRunStatus.SUCCESS]
            )
            wait_while_running(
                lambda: instance.get_runs(refreshed), "the analytics refresh", 120, dev
            )
    finally:
        dev.send_signal(signal.SIGTERM)
        try:
            dev.wait(timeout=60)
        except subprocess.TimeoutExpired:
            dev.kill()
        database.dispose()

    lines = ANSI_COLOUR.sub("", log_path.read_text(errors="replace")).splitlines()
    assert [line for line in lines if "skipped" in line or "Checking for new runs" in line] == []
    assert [line for line in lines if " DEBUG " in line] == []
    launched = [line for line in lines if f"job {job_id}: launching its run" in line]
    assert len(launched) == 1, lines
    assert any(f"job {job_id} settled: 4 images made, 0 failed" in line for line in lines), lines


def test_an_unedited_instance_config_of_an_earlier_bulkgen_is_brought_up_to_date(
    tmp_path, monkeypatch
):
    settings = Settings.from_env({"BULKGEN_HOME": str(tmp_path / "home")})
    home = settings.dagster_home
    assert home is not None
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # prepare_dagster_home sets it; restored after
    home.mkdir(parents=True)
    (home / _READY_MARKER).write_text("ready\n")
    config = home / "dagster.yaml"
    config.write_text(_EARLIER_LOCAL_INSTANCE_YAMLS[-1])
    prepare_dagster_home(settings)
    assert config.read_text() == _LOCAL_INSTANCE_YAML
    assert "python_log_level: INFO" in _LOCAL_INSTANCE_YAML

    edited = _EARLIER_LOCAL_INSTANCE_YAMLS[-1] + "# mine\n"
    config.write_text(edited)
    prepare_dagster_home(settings)
    assert config.read_text() == edited
    assert sorted(p.name for p in home.iterdir()) == [_READY_MARKER, "dagster.yaml"]

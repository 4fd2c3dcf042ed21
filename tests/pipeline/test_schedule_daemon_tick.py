"""The Dagster UI's view of schedules: the daemon's sensor iteration, against a code server
loading the bulkgen definitions, evaluates scheduled_starts (on by default) and keeps a tick
whose message and log say what each due schedule came to: the job started, or why not."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
from dagster._core.scheduler.instigation import InstigatorType
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.sensor import execute_sensor_iteration

from bulkgen_pipeline import db
from bulkgen_pipeline.runs.presets import create_preset
from bulkgen_pipeline.runs.schedules import create_schedule

from ..conftest import premigrated

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_sensor_tick_log_shows_each_start_and_skip(tmp_path, monkeypatch, request):
    url = premigrated(request, f"sqlite:///{tmp_path / 'bulkgen.db'}")
    monkeypatch.setenv("BULKGEN_DATABASE_URL", url)  # the code server's resources read these
    monkeypatch.setenv("BULKGEN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BULKGEN_STORAGE_URL", str(tmp_path / "store"))
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    database = db.shared_database(url)
    preset = json.loads((EXAMPLES / "professional_bags.json").read_text())
    made = {}
    for name, credits in (("rich", 10), ("poor", 1)):
        with database.session() as session:
            user = db.create_user(session, name, credits).user_id
        made[name] = create_schedule(
            database,
            user,
            preset_id=create_preset(database, user, preset),
            template_id=None,
            cron="0 9 * * *",
            timezone="UTC",
            generation_count=3,
            now=datetime.now(UTC) - timedelta(days=2),
        )
    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        target = ModuleTarget(
            module_name="bulkgen_pipeline.definitions",
            attribute=None,
            working_directory=os.getcwd(),
            location_name="bulkgen",
        )
        with create_test_daemon_workspace_context(target, instance) as workspace:
            list(execute_sensor_iteration(workspace, logging.getLogger("test"), None, None))
        [state] = [
            s
            for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
            if s.instigator_name == "scheduled_starts"
        ]
        [tick] = instance.get_ticks(state.instigator_origin_id, state.selector_id)
        assert tick.skip_reason == "1 scheduled start(s), 1 skipped"
        log = instance.compute_log_manager.get_log_data(tick.log_key).stderr.decode()
    with database.session() as session:
        [job] = db.queued_jobs(session)
    assert f"schedule {made['rich'].id} (" in log and f"started job {job.run_id}" in log
    assert f"schedule {made['poor'].id} (" in log
    assert "skipped: not enough credits: 3 needed, 1 available" in log

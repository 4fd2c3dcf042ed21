"""`bulkgen dev` as an operator starts it: a job queued through the API is launched by the
daemon's sensor and completes; SIGTERM then stops every process `bulkgen dev` started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bulkgen_pipeline import db
from bulkgen_pipeline.config import Settings
from bulkgen_pipeline.domain.statuses import JobStatus
from bulkgen_pipeline.runs.presets import create_preset
from tests.dev_process import http_status, wait_while_running
from tests.production_shape import free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROC = Path("/proc")

pytestmark = pytest.mark.skipif(not PROC.is_dir(), reason="reads the process table from /proc")


def _processes() -> dict[int, tuple[int, int, str]]:
    """pid → (parent pid, process group, state) of every process, from /proc."""
    table = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            after_name = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        table[int(entry.name)] = (int(after_name[1]), int(after_name[2]), after_name[0])
    return table


def _descendants(pid: int) -> set[int]:
    table = _processes()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, (parent, _, _) in table.items() if parent in frontier}
        found |= frontier
    return found


def _alive(pids: set[int], groups: set[int]) -> set[int]:
    """Which of `pids`, or of any process in `groups`, still run (zombies do not count)."""
    return {
        pid
        for pid, (_, group, state) in _processes().items()
        if (pid in pids or group in groups) and state != "Z"
    }


def _cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _run_workers(dev: subprocess.Popen) -> set[int]:
    """The run workers Dagster's code server started (multiprocessing children of it)."""
    return {pid for pid in _descendants(dev.pid) if "spawn_main" in _cmdline(pid)}


@pytest.mark.slow
def test_dev_server_runs_jobs_queued_through_the_api_resumes_a_killed_one_and_stops_everything(
    tmp_path,
):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BULKGEN_", "DAGSTER_"))}
    env.update(
        {
            "BULKGEN_HOME": str(tmp_path / "home"),
            "BULKGEN_PROVIDERS": "local",
            # Slow enough to kill the second job's run worker half-way through it.
            "BULKGEN_LOCAL_SECONDS_PER_IMAGE": "0.25",
            "BULKGEN_LOCAL_CONCURRENCY": "2",
        }
    )
    database = db.Database(Settings.from_env(env).database_url)
    database.upgrade()
    with database.session() as session:
        user = db.create_user(session, "Ops", 50)
    preset = create_preset(
        database, user.user_id, json.loads((EXAMPLES / "professional_bags.json").read_text())
    )

    api_port, dagster_port = free_port(), free_port()
    api, ui = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{dagster_port}"
    log = (tmp_path / "dev.log").open("wb")
    dev = subprocess.Popen(
        [sys.executable, "-m", "bulkgen_pipeline.cli", "dev"]
        + ["--api-port", str(api_port), "--dagster-port", str(dagster_port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    started: set[int] = set()
    try:
        wait_while_running(lambda: http_status(f"{api}/healthz") == 200, "the API", 120, dev)

        def start(count: int) -> str:
            request = urllib.request.Request(
                f"{api}/api/bulk-generation/start",
                data=json.dumps({"preset_id": preset, "generation_count": count}).encode(),
                headers={
                    "Authorization": f"Bearer {user.api_key}",
                    "Content-Type": "application/json",
                },
            )
            with urllib.request.urlopen(request, timeout=30) as reply:
                assert reply.status == 202
                return json.loads(reply.read())["job_id"]

        def status_of(job_id: str) -> dict:
            with database.session(readonly=True) as session:
                return db.job_status_dict(session, job_id)

        def finished(job_id: str) -> dict | None:
            status = status_of(job_id)
            return status if JobStatus(status["status"]).is_final else None

        job_id = start(2)
        status = wait_while_running(
            lambda: finished(job_id), "the sensor to launch the run and the run to end", 240, dev
        )
        assert (status["status"], status["completed_images"], status["credits_consumed"]) == (
            "completed",
            2,
            2,
        )
        assert http_status(f"{ui}/server_info") == 200

        # kill -9 of the run worker the daemon launched, after 4 of 40 images: the job is
        # resumed (with the default lease), only the missing images are made, all charged once.
        idle_workers = _run_workers(dev)
        killed_job = start(40)
        wait_while_running(
            lambda: status_of(killed_job)["completed_images"] >= 4, "4 images", 240, dev
        )
        [worker] = _run_workers(dev) - idle_workers
        os.kill(worker, signal.SIGKILL)
        made_before = status_of(killed_job)["completed_images"]
        assert made_before < 40
        status = wait_while_running(lambda: finished(killed_job), "the killed job to end", 300, dev)
        assert (status["status"], status["completed_images"], status["credits_consumed"]) == (
            "completed",
            40,
            40,
        ), status
        with database.session(readonly=True) as session:
            assert db.get_job(session, killed_job).resume_count == 1
            assert db.get_user(session, user.user_id).credits_reserved == 0
            assert db.credit_invariant_violations(session) == []

        # The API, dagster dev, its webserver, daemon and code server(s), at least.
        started = _descendants(dev.pid)
        assert len(started) >= 5, started
        groups = {group for pid, (_, group, _) in _processes().items() if pid in started}
        dev.send_signal(signal.SIGTERM)
        assert dev.wait(timeout=60) == 0
        assert _alive(started, groups) == set()
    finally:
        if dev.poll() is None:
            started |= _descendants(dev.pid)
            dev.send_signal(signal.SIGTERM)
            try:
                dev.wait(timeout=60)
            except subprocess.TimeoutExpired:
                dev.kill()
        for pid in _alive(started, set()):  # never leave a server behind a failed test
            os.kill(pid, signal.SIGKILL)
        log.close()
        database.dispose()

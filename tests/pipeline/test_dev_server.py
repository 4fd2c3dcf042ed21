"""`bulkgen dev` as an operator starts it: the UI answers and the daemon's sensor runs the queue."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bulkgen_pipeline.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def test_dev_server_launches_a_queued_job_through_the_sensor(tmp_path):
    env = {**os.environ, "BULKGEN_HOME": str(tmp_path / "home"), "BULKGEN_PROVIDERS": "local"}
    for name in ("BULKGEN_DATABASE_URL", "BULKGEN_STORAGE_URL", "DAGSTER_HOME"):
        env.pop(name, None)
    user = _cli(env, "users", "create", "--name", "Ops", "--credits", "5")["user_id"]
    preset = _cli(
        env, "presets", "create", "--user", user, "--file", str(EXAMPLES / "professional_bags.json")
    )["preset_id"]
    job = _cli(env, "run", "--user", user, "--preset", preset, "--count", "2", "--queue-only")
    assert job["status"] == "queued"

    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bulkgen_pipeline.cli", "dev", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        status, deadline = job, time.monotonic() + 180
        while status["status"] not in ("completed", "failed") and time.monotonic() < deadline:
            time.sleep(2)
            status = _cli(env, "status", job["job_id"])
        assert (status["status"], status["completed_images"], status["credits_consumed"]) == (
            "completed",
            2,
            2,
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=10) as reply:
            assert reply.status == 200 and "dagster_webserver_version" in reply.read().decode()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

"""Queued to first image on a real `bulkgen dev`: POST /api/bulk-generation/start, then the
sensor, the run queue and the run worker, until the first image is asked of a provider.

Five 2-image runs, one after another, on a fresh embedded default (SQLite, local folder,
preview provider) under a temporary BULKGEN_HOME. Each is queued once the previous one finished
and so did the analytics refresh its settlement starts (within 30 s): on two cores, a refresh
running at the same time slows a launch by seconds, and this measures the queued path itself.

- sensor pick-up: POST sent → the Dagster run exists (queued_bulk_jobs ticked and asked for it)
- run launch:     run created → run started (the run queue dequeued it, a worker process started
                  and loaded the code)
- first step:     run started → the first generation is handed to the provider (its
                  generation_items row appears as `running`; the table is polled every 20 ms,
                  and a row first seen finished counts from its finish time less its latency)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
RUNS = 5
IMAGES_PER_RUN = 2
READY_TIMEOUT_S = 240.0
RUN_TIMEOUT_S = 120.0
POLL_S = 0.02
FOLLOW_UP_WAIT_S = 40.0  # the analytics sensor's interval (30 s) and a daemon loop (5 s), and some
BULK_JOB = "bulk_generation"


@dataclass(frozen=True)
class QueuedRun:
    queued: float  # epoch seconds, just before the POST
    created: float
    started: float
    first_image: float

    def row(self, label: str) -> dict[str, object]:
        return {
            "run": label,
            "sensor pick-up s": self.created - self.queued,
            "run launch s": self.started - self.created,
            "first step s": self.first_image - self.started,
            "queued → first image s": self.first_image - self.queued,
        }


def run_queue_benchmark(runs: int = RUNS) -> list[dict[str, object]]:
    """One row per run, then the median of each column."""
    with tempfile.TemporaryDirectory() as folder, _bulkgen_dev(Path(folder)) as dev:
        measured = [dev.measure_one() for _ in range(runs)]
    rows = [run.row(str(i + 1)) for i, run in enumerate(measured)]
    median = {"run": f"median of {runs}"}
    for column in list(rows[0])[1:]:
        median[column] = statistics.median(float(row[column]) for row in rows)  # type: ignore[arg-type]
    return [*rows, median]


class _DevServer:
    def __init__(self, home: Path, api_url: str) -> None:
        import dagster as dg
        from dagster._core.instance.ref import InstanceRef

        from bulkgen_pipeline import db
        from bulkgen_pipeline.config import Settings
        from bulkgen_pipeline.runs.presets import create_preset

        self.db = db
        settings = Settings.from_env({"BULKGEN_HOME": str(home)})
        self.database = db.Database(settings.database_url)
        self.database.upgrade()
        with self.database.session() as session:
            created = db.create_user(session, "bench", 1000)
        self.api_key = created.api_key
        preset = json.loads((EXAMPLES / "professional_bags.json").read_text())
        self.preset_id = create_preset(self.database, created.user_id, preset)
        self.api_url = api_url
        self.dg = dg
        self.instance = dg.DagsterInstance.from_ref(
            InstanceRef.from_dir(str(settings.dagster_home))
        )

    def measure_one(self) -> QueuedRun:
        queued = time.time()
        job_id = self._start()
        run = self._wait(lambda: self._dagster_run(job_id), "the Dagster run to be created")
        first_image = self._first_image(job_id)
        started = self._wait(
            lambda: self._dagster_run(job_id).start_time, "the Dagster run to start"
        )
        created = run.create_timestamp.timestamp()
        self._wait(lambda: self._finished(job_id), f"run {job_id} to finish", RUN_TIMEOUT_S)
        self._wait_for_follow_up(since=time.time())
        return QueuedRun(queued, created, started, first_image)

    def _wait_for_follow_up(self, since: float) -> None:
        """Until a run another job started after `since` (the analytics refresh) has finished,
        or FOLLOW_UP_WAIT_S passed without one; never while any run is still active."""
        dg = self.dg
        active = [
            dg.DagsterRunStatus.QUEUED,
            dg.DagsterRunStatus.NOT_STARTED,
            dg.DagsterRunStatus.STARTING,
            dg.DagsterRunStatus.STARTED,
            dg.DagsterRunStatus.CANCELING,
        ]
        quiet_by = time.monotonic() + FOLLOW_UP_WAIT_S
        deadline = quiet_by + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            busy = self.instance.get_run_records(filters=dg.RunsFilter(statuses=active), limit=1)
            if not busy:
                later = self.instance.get_run_records(
                    filters=dg.RunsFilter(created_after=datetime.fromtimestamp(since, UTC))
                )
                if time.monotonic() > quiet_by or any(
                    record.dagster_run.job_name != BULK_JOB for record in later
                ):
                    return
            time.sleep(0.5)
        raise TimeoutError("runs still active long after the measured run finished")

    def _start(self) -> str:
        request = urllib.request.Request(
            f"{self.api_url}/api/bulk-generation/start",
            data=json.dumps(
                {"preset_id": self.preset_id, "generation_count": IMAGES_PER_RUN}
            ).encode(),
            headers={
                "Authorization": f"Bearer {self.api_key}",
                "Content-Type": "application/json",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert reply.status == 202, reply.status
            return json.loads(reply.read())["job_id"]

    def _dagster_run(self, job_id: str):
        records = self.instance.get_run_records(
            filters=self.dg.RunsFilter(tags={"dagster/partition": job_id}), limit=1
        )
        return records[0] if records else None

    def _first_image(self, job_id: str) -> float:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            with self.database.session(readonly=True) as session:
                items = self.db.list_items(session, job_id)
            if items:
                return min(
                    _epoch(item.updated_at)
                    - (0 if item.status == "running" else (item.latency_ms or 0) / 1000)
                    for item in items
                )
            time.sleep(POLL_S)
        raise TimeoutError(f"no image of run {job_id} was requested in {RUN_TIMEOUT_S:.0f} s")

    def _finished(self, job_id: str) -> bool:
        with self.database.session(readonly=True) as session:
            status = self.db.job_status_dict(session, job_id)["status"]
        if status in ("failed", "cancelled", "partial"):
            raise RuntimeError(f"run {job_id} ended {status}")
        return status == "completed"

    @staticmethod
    def _wait(probe, what: str, timeout: float = RUN_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = probe()
            if value:
                return value
            time.sleep(POLL_S)
        raise TimeoutError(f"timed out waiting for {what}")

    def wait_until_ready(self, dagster_url: str, process: subprocess.Popen) -> None:
        """The API and the UI answer, and the queue sensor has ticked once (the daemon and
        its code server are up), so the first run measures the queued path, not start-up."""
        from dagster._core.scheduler.instigation import InstigatorType

        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"bulkgen dev exited with code {process.returncode}")
            if _answers(f"{self.api_url}/healthz") and _answers(f"{dagster_url}/server_info"):
                for state in self.instance.all_instigator_state(
                    instigator_type=InstigatorType.SENSOR
                ):
                    if state.instigator_name == "queued_bulk_jobs" and self.instance.get_ticks(
                        state.instigator_origin_id, state.selector_id, limit=1
                    ):
                        return
            time.sleep(1.0)
        raise TimeoutError(f"bulkgen dev was not ready in {READY_TIMEOUT_S:.0f} s")

    def close(self) -> None:
        self.instance.dispose()
        self.database.dispose()


@contextmanager
def _bulkgen_dev(root: Path):
    home = root / "home"
    api_port, dagster_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BULKGEN_", "DAGSTER_"))}
    env.update({"BULKGEN_HOME": str(home), "BULKGEN_PROVIDERS": "local"})
    log = root / "bulkgen_dev.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bulkgen_pipeline.cli", "dev"]
            + ["--api-port", str(api_port), "--dagster-port", str(dagster_port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        dev = None
        try:
            # bulkgen dev migrates the database and creates the instance before its children
            # start; wait for that, then set up the user and preset next to it.
            _DevServer._wait(
                lambda: (home / "dagster_home" / "bulkgen_workspace.yaml").exists(),
                "bulkgen dev to set up its instance",
                READY_TIMEOUT_S,
            )
            dev = _DevServer(home, f"http://127.0.0.1:{api_port}")
            dev.wait_until_ready(f"http://127.0.0.1:{dagster_port}", process)
            yield dev
        except BaseException:
            lines = log.read_text(errors="replace").splitlines()
            print("\n".join(line for line in lines if "/healthz" not in line)[-6000:])
            raise
        finally:
            if dev is not None:
                dev.close()
            process.send_signal(signal.SIGTERM)  # bulkgen dev stops everything it started
            process.wait(timeout=90)


def _epoch(value: datetime) -> float:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.table import print_table

    print_table("Queued to first image on bulkgen dev", run_queue_benchmark())

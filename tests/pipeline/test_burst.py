"""The production shape under a burst, through its real processes: deploy/production.sh
(code server, daemon, `bulkgen worker`, API) on PostgreSQL and Redis, the fake Replicate server
behind the real SDK. Checks delivery, credits, the run limits and terminate, never times (those
are `make bench`'s)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import dagster as dg
import pytest

from bulkgen_pipeline.webhooks.signing import WebhookVerificationError, verify
from tests.burst import create_merchants, credits_of, read_rows, run_burst
from tests.fakes.replicate_server import FakeReplicate
from tests.isolation import PRODUCTION_SHAPE, redis_test_db
from tests.production_shape import production_shape
from tests.webhooks.conftest import receiver  # noqa: F401 (a fixture)

# One production shape for the module's tests, on one xdist worker (ONE_WORKER_MODULES in
# tests/conftest.py), started first.
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

IMAGES = 3
FINAL = {"completed", "partial", "failed", "cancelled"}
PER_USER_LIMIT = 3  # deploy/dagster.yaml: tag_concurrency_limits user_id
WORKER_PID = "Started process for run (pid: "
HEARTBEAT_EXPIRES_S = 5


@pytest.fixture(scope="module")
def replicate():
    with FakeReplicate(latency=1.0) as server:
        yield server


@pytest.fixture(scope="module")
def shape(tmp_path_factory, new_postgres_database, redis_url, replicate):
    provider_env = {
        "REPLICATE_API_TOKEN": replicate.token,
        "REPLICATE_BASE_URL": replicate.base_url,
        "BULKGEN_REPLICATE_POLL_SECONDS": "0.05",
        "BULKGEN_WEBHOOK_ALLOW_PRIVATE": "true",  # the test's receiver is on 127.0.0.1
        # A killed slot's run is noticed 5 s after its last beat instead of the default 30 s.
        "BULKGEN_WORKER_HEARTBEAT_EXPIRES_SECONDS": str(HEARTBEAT_EXPIRES_S),
    }
    workdir = tmp_path_factory.mktemp("production")
    broker_db = redis_test_db(PRODUCTION_SHAPE)  # this xdist worker's own
    with production_shape(
        workdir, new_postgres_database(), provider_env, broker_db=broker_db
    ) as running:
        yield running


@pytest.fixture
def instance(shape, monkeypatch):
    """The shape's Dagster instance, opened from this process with the shape's environment."""
    for name, value in shape.env.items():
        monkeypatch.setenv(name, value)
    with dg.DagsterInstance.get() as opened:
        yield opened


def _bulk_runs(instance: dg.DagsterInstance, job_ids: set[str]) -> list[dg.DagsterRun]:
    runs = instance.get_runs(dg.RunsFilter(job_name="bulk_generation"))
    return [run for run in runs if run.tags.get("dagster/partition") in job_ids]


def _most_at_once(intervals: list[tuple[float, float]]) -> int:
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = running = 0
    for _, step in edges:
        running += step
        most = max(most, running)
    return most


def _worker_pid(instance: dg.DagsterInstance, run_id: str) -> int:
    for record in instance.all_logs(run_id):
        message = record.message or ""
        if message.startswith(WORKER_PID):
            return int(message[len(WORKER_PID) :].rstrip(")."))
    raise AssertionError(f"run {run_id} has no worker pid")


def test_a_burst_is_delivered_and_charged_exactly_within_the_run_limits(shape, instance):
    merchants = create_merchants(shape, 9)
    busy = merchants[0]
    busy.runs = 6  # one merchant queues six runs at once, the others one each
    result = run_burst(shape, merchants, images=IMAGES, timeout_s=300)

    assert result.start_errors == []
    jobs = {job for m in merchants for job in m.jobs}
    assert len(jobs) == 14
    assert {o.status for o in result.outcomes} == {"completed"}, result.outcomes
    assert all(o.completed_images == IMAGES for o in result.outcomes)
    # Credits exact: each image charged once, nothing left reserved.
    balances = credits_of(shape, merchants)
    for merchant in merchants:
        assert balances[merchant.user_id] == (merchant.credits - IMAGES * merchant.runs, 0)

    runs = _bulk_runs(instance, jobs)
    assert len(runs) == len(jobs)
    assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
    records = {
        r.dagster_run.run_id: r
        for r in instance.get_run_records(dg.RunsFilter(run_ids=[run.run_id for run in runs]))
    }
    spans = {run_id: (record.start_time, record.end_time) for run_id, record in records.items()}
    by_user: dict[str, list[tuple[float, float]]] = {}
    for run in runs:
        by_user.setdefault(run.tags["user_id"], []).append(spans[run.run_id])
    # The run limits: never more than three of one merchant's runs at once.
    assert _most_at_once(by_user[busy.user_id]) == PER_USER_LIMIT
    assert max(_most_at_once(spans) for spans in by_user.values()) <= PER_USER_LIMIT
    # Fairness: no other merchant's run waited behind the busy merchant's queue — while it
    # waited to start, at most the busy merchant's three allowed runs started.
    busy_starts = sorted(start for start, _ in by_user[busy.user_id])
    for run in runs:
        if run.tags["user_id"] == busy.user_id:
            continue
        created = records[run.run_id].create_timestamp.timestamp()
        started = spans[run.run_id][0]
        assert sum(created <= s <= started for s in busy_starts) <= PER_USER_LIMIT
    # Warm workers: the runs were executed by slots that had run others before (a fresh
    # interpreter per run would show one pid per run).
    pids = {_worker_pid(instance, run.run_id) for run in runs}
    assert len(pids) < len(runs)
    assert shape.process.poll() is None


def test_terminate_reaches_the_worker_slot_and_cancels_the_job(shape, instance, replicate):
    (merchant,) = create_merchants(shape, 1)
    code, body = shape.request(
        "POST",
        "/api/bulk-generation/start",
        merchant.api_key,
        {"preset_id": merchant.preset_id, "generation_count": 40},
    )
    assert code == 202
    job_id = body["job_id"]
    run = _wait(lambda: _started_run(instance, job_id), "the run to start making images")
    # What the UI's Terminate does: the instance's run launcher, here CeleryRunLauncher.
    assert instance.run_launcher.terminate(run.run_id)
    ended = _wait(
        lambda: (r := instance.get_run_by_id(run.run_id)) and r.is_finished and r,
        "the run to end",
    )
    assert ended.status == dg.DagsterRunStatus.CANCELED
    status = _wait(
        lambda: (s := _status(shape, merchant, job_id))["status"] == "cancelled" and s,
        "the job to be cancelled",
    )
    assert status["completed_images"] < 40
    # Images made before the terminate are kept, not charged; the reservation is released.
    assert credits_of(shape, [merchant])[merchant.user_id] == (merchant.credits, 0)


def test_under_a_burst_a_killed_worker_slot_resumes_its_job_and_every_webhook_arrives(
    shape,
    instance,
    receiver,  # noqa: F811 (the fixture imported above)
):
    merchants = create_merchants(shape, 6)
    victim, others = merchants[0], merchants[1:]
    # The receiver serves six merchants, each with its own secret: it accepts every delivery
    # and the test verifies each with its merchant's secret below.
    receiver.answer(*[204] * 1000)
    code, body = shape.request(
        "POST",
        "/api/bulk-generation/start",
        victim.api_key,
        {"preset_id": victim.preset_id, "generation_count": 30, "webhook_url": receiver.url},
    )
    assert code == 202
    victim.jobs.append(body["job_id"])
    killed_job = body["job_id"]
    burst: dict[str, object] = {}
    burst_thread = threading.Thread(
        target=lambda: burst.update(
            result=run_burst(shape, others, images=IMAGES, timeout_s=300, webhook_url=receiver.url)
        )
    )
    burst_thread.start()
    run = _wait(lambda: _started_run(instance, killed_job), "the long run to start")
    _wait(lambda: _status(shape, victim, killed_job)["completed_images"] >= 4, "4 images")
    # kill -9 of the slot executing it (an OOM kill, a lost machine): its job must resume.
    os.kill(_worker_pid(instance, run.run_id), signal.SIGKILL)
    burst_thread.join()
    status = _wait(
        lambda: (s := _status(shape, victim, killed_job))["status"] in FINAL and s,
        "the killed job to end",
        timeout=240,
    )
    assert (status["status"], status["completed_images"]) == ("completed", 30), status
    sql = "SELECT resume_count FROM backend_jobs WHERE uuid = :id"
    [row] = read_rows(shape, sql, id=killed_job)
    assert row["resume_count"] == 1
    result = burst["result"]
    assert result.start_errors == []  # type: ignore[attr-defined]
    assert {o.status for o in result.outcomes} == {"completed"}  # type: ignore[attr-defined]
    balances = credits_of(shape, merchants)
    assert balances[victim.user_id] == (victim.credits - 30, 0)
    for merchant in others:
        assert balances[merchant.user_id] == (merchant.credits - IMAGES, 0)

    # Every job's completion reached its merchant's receiver once, signed with its secret.
    owners = {job: m for m in merchants for job in m.jobs}

    def completions() -> dict[str, int]:
        seen: dict[str, int] = {}
        for delivery in list(receiver.received):
            try:
                payload = verify(_secret_of(delivery, owners), delivery.headers, delivery.body)
            except WebhookVerificationError:
                continue
            if payload["type"] == "job.completed":
                job = payload["data"]["job_id"]
                seen[job] = seen.get(job, 0) + 1
        return seen

    everyone = {job: 1 for job in owners}
    deadline = time.monotonic() + 60
    while completions() != everyone and time.monotonic() < deadline:
        time.sleep(0.5)
    kinds = sorted({json.loads(r.body).get("type", "?") for r in receiver.received})
    assert completions() == everyone, (len(receiver.received), kinds)


def _secret_of(delivery, owners) -> str:
    """The secret of the merchant whose job this delivery is about (read before verifying)."""
    job = json.loads(delivery.body).get("data", {}).get("job_id")
    return owners[job].webhook_secret if job in owners else ""


def _status(shape, merchant, job_id) -> dict:
    code, body = shape.request(
        "GET", f"/api/bulk-generation/jobs/{job_id}/status", merchant.api_key
    )
    assert code == 200
    return body


def _started_run(instance, job_id):
    for run in _bulk_runs(instance, {job_id}):
        if run.status == dg.DagsterRunStatus.STARTED:
            return run
    return None


def _wait(probe, what: str, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")

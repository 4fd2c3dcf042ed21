"""The baseline of the burst benchmark: a minimal Celery worker with 20 slots making the same
provider calls.

`merchants` jobs are queued at once, one per merchant; each makes `images_per_job` image
generations through the real `replicate` SDK (create with `Prefer: wait`, then download the
output file), concurrently on threads within the job. The worker is Celery's prefork pool
(the seed design's engine) on Redis, started as a subprocess for the call and stopped after.

What it leaves out, on purpose: no credits, no database, no ZIP, no retries, no storage of the
images. It is the floor a queue-of-jobs design costs for the provider calls alone, for the
benchmark only; nothing of bulkgen runs here.

Times are relative to the moment the burst was enqueued; CPU and peak memory of the worker's
process tree come from /proc (benchmarks/proc_stats.py).

    python benchmarks/celery_baseline.py [--merchants 100] [--images 5] [--latency 2.0]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from celery import Celery
from celery.exceptions import TimeoutError as CeleryTimeout
from celery.result import AsyncResult
from kombu import Exchange, Queue

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.celery_baseline_worker import QUEUE_PREFIX, TASK_NAME, make_app  # noqa: E402
from benchmarks.proc_stats import cpu_seconds, peak_rss_mb, process_tree  # noqa: E402

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/15"  # its own db: collides with nothing else
DEFAULT_TOKEN = "r8_bench"
READY_TIMEOUT_S = 60.0  # 20 prefork children on two cores take a few seconds
STOP_TIMEOUT_S = 20.0
JOBS_TIMEOUT_S = 600.0


def run_celery_baseline(
    merchants: int,
    images_per_job: int,
    replicate_base_url: str,
    *,
    slots: int = 20,
    broker_url: str = DEFAULT_BROKER_URL,
    api_token: str = DEFAULT_TOKEN,
) -> dict[str, float]:
    """Queue `merchants` jobs at once (one per merchant), each making `images_per_job` image
    generations through the real `replicate` SDK against `replicate_base_url` (concurrently
    within the job, on threads), run by a Celery prefork worker with `slots` slots started for
    this call and stopped after. `api_token` is what the worker sends as REPLICATE_API_TOKEN
    (the fake server checks it: start it with the same token).

    Returns seconds from the first enqueue: `wall_s` (to the last job done),
    `first_image_p50_s` / `first_image_p95_s` (a job's first image), `done_p50_s` /
    `done_p95_s` / `done_max_s` (a job done); `enqueue_s` (sending the burst took);
    `worker_cpu_s` (user + sys of the worker's process tree from its start, sampled right
    before it is stopped), `worker_burst_cpu_s` (the part of it spent during the burst);
    `worker_peak_rss_mb` (VmHWM of its biggest process) and `worker_total_rss_mb` (VmHWM
    summed over its processes: counts copy-on-write pages shared with the parent each time).
    """
    if merchants < 1 or images_per_job < 1:
        raise ValueError("need at least one merchant and one image per job")
    app = make_app(broker_url)
    # A queue of its own: two benchmarks on the same Redis db must not run, or purge, each
    # other's jobs (the worker consumes only this queue; pings go to its own hostname).
    queue = f"{QUEUE_PREFIX}.{uuid.uuid4().hex[:12]}"
    results: list[AsyncResult] = []
    try:
        with _worker(app, queue, slots, broker_url, replicate_base_url, api_token) as worker:
            cpu_ready = cpu_seconds(process_tree(worker.pid))
            enqueued = time.time()
            for merchant in range(merchants):
                results.append(
                    app.send_task(TASK_NAME, args=(merchant, images_per_job), queue=queue)
                )
            enqueue_s = time.time() - enqueued
            jobs = _collect(results)
            tree = process_tree(worker.pid)
            cpu = cpu_seconds(tree)
            peaks = [peak_rss_mb(pid) for pid in tree]
    finally:  # leave the Redis db as found, also when a job failed
        for result in results:
            result.forget()
        _drop_queue(app, queue)
        app.close()

    first = [job["first_image"] - enqueued for job in jobs]
    done = [job["done"] - enqueued for job in jobs]
    return {
        "wall_s": max(done),
        "first_image_p50_s": _percentile(first, 0.50),
        "first_image_p95_s": _percentile(first, 0.95),
        "done_p50_s": _percentile(done, 0.50),
        "done_p95_s": _percentile(done, 0.95),
        "done_max_s": max(done),
        "enqueue_s": enqueue_s,
        "worker_cpu_s": cpu,
        "worker_burst_cpu_s": cpu - cpu_ready,
        "worker_peak_rss_mb": max(peaks),
        "worker_total_rss_mb": sum(peaks),
    }


def _percentile(values: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default), for any count."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _collect(results: list[AsyncResult]) -> list[dict[str, float]]:
    """Every job's times, in order; the first failed job's exception is raised here."""
    deadline = time.monotonic() + JOBS_TIMEOUT_S
    try:
        return [r.get(timeout=max(1.0, deadline - time.monotonic())) for r in results]
    except CeleryTimeout:
        done = sum(r.ready() for r in results)
        raise RuntimeError(
            f"only {done} of {len(results)} jobs done after {JOBS_TIMEOUT_S:g}s"
        ) from None


def _drop_queue(app: Celery, queue: str) -> None:
    """Delete the call's queue: the jobs a failed burst never started, and its binding keys."""
    with app.connection_for_write() as connection:
        # Named as Celery names a queue it creates for send_task(queue=...).
        bound = Queue(queue, Exchange(queue), routing_key=queue)(connection.default_channel)
        bound.declare()  # binds it on this channel, so the delete finds what to remove
        bound.delete()


@contextmanager
def _worker(
    app: Celery, queue: str, slots: int, broker_url: str, base_url: str, api_token: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker subprocess, answering pings when this yields; stopped on exit."""
    hostname = f"celery-baseline-{uuid.uuid4().hex[:8]}@localhost"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "benchmarks.celery_baseline_worker",
        "worker",
        "--pool=prefork",
        f"--concurrency={slots}",
        "--prefetch-multiplier=1",
        "-O",
        "fair",
        "--without-gossip",
        "--without-mingle",
        "--loglevel=WARNING",
        "-n",
        hostname,
        "-Q",
        queue,
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "CELERY_BASELINE_BROKER_URL": broker_url,
        "REPLICATE_BASE_URL": base_url,
        "REPLICATE_API_TOKEN": api_token,
        "CELERY_BASELINE_PARENT_PID": str(os.getpid()),
    }
    with tempfile.TemporaryFile() as log:
        # Its own session, so a worker that will not stop can be killed as a group.
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
        )
        try:
            _wait_ready(app, worker, hostname, log)
            yield worker
        finally:
            _stop(worker)


def _wait_ready(
    app: Celery, worker: subprocess.Popen[bytes], hostname: str, log: IO[bytes]
) -> None:
    """Block until the worker answers a ping: its pool is up and it consumes the queue."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"celery worker exited ({worker.returncode}):\n{_tail(log)}")
        if app.control.ping(destination=[hostname], timeout=0.5):
            return
    raise RuntimeError(f"celery worker not ready in {READY_TIMEOUT_S:g}s:\n{_tail(log)}")


def _tail(log: IO[bytes], size: int = 4000) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-size:]


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """SIGTERM (Celery's warm shutdown), then SIGKILL the whole group; leave nothing behind."""
    children = [pid for pid in process_tree(worker.pid) if pid != worker.pid]
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)  # the leader is not reaped yet: still ours
            worker.wait()
    for pid in children:  # a pool child the shutdown missed; still in the worker's group?
        try:
            if os.getpgid(pid) == worker.pid:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main() -> None:
    from tests.fakes import _http
    from tests.fakes.replicate_server import FakeReplicate

    # The fake listens with socketserver's backlog of 5: a burst of ~100 connects overflows
    # it, and the kernel answers with 1 s SYN retransmits or a reset (a failed job). A real
    # API does not, so give the fake a real server's backlog.
    _http._Server.request_queue_size = 128

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--merchants", type=int, default=100)
    parser.add_argument("--images", type=int, default=5)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--slots", type=int, default=20)
    args = parser.parse_args()
    with FakeReplicate(token=DEFAULT_TOKEN, latency=args.latency) as fake:
        result = run_celery_baseline(args.merchants, args.images, fake.base_url, slots=args.slots)
        creates = fake.counts["create"]
    for key, value in result.items():
        print(f"{key:22} {value:10.2f}")
    print(f"{'creates':22} {creates:10d}")


if __name__ == "__main__":
    main()

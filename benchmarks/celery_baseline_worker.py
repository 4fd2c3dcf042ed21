"""The Celery app of the burst benchmark's baseline (see benchmarks/celery_baseline.py).

Loaded by `celery -A benchmarks.celery_baseline_worker worker` in a subprocess, so it imports
nothing of bulkgen and reads all it needs from the environment it was started with:

- CELERY_BASELINE_BROKER_URL  Redis, broker and result backend (default db 15)
- REPLICATE_BASE_URL          where the Replicate API is (the fake server in the benchmark)
- REPLICATE_API_TOKEN         the token that server accepts
- CELERY_BASELINE_PARENT_PID  the benchmark process: the worker stops when it dies

One task: one merchant's job, `images` image generations through the real `replicate` SDK,
made concurrently on threads, returning when its first image and the whole job finished.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import replicate
from celery import Celery
from celery.signals import worker_init
from replicate.helpers import FileOutput

BROKER_URL = os.environ.get("CELERY_BASELINE_BROKER_URL", "redis://127.0.0.1:6379/15")
QUEUE_PREFIX = "celery_baseline"  # each call of the benchmark adds its own suffix
TASK_NAME = "celery_baseline.make_images"
MODEL = "black-forest-labs/flux-schnell"
WAIT_S = 60  # Prefer: wait=60, the longest Replicate holds a create open


def make_app(broker_url: str) -> Celery:
    """The app, for the worker and for the benchmark process that sends it jobs."""
    app = Celery("celery_baseline", broker=broker_url, backend=broker_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=3600,
        broker_connection_retry_on_startup=True,
    )
    return app


app = make_app(BROKER_URL)
PR_SET_PDEATHSIG = 1


@worker_init.connect
def _stop_with_parent(**_: object) -> None:
    """SIGTERM this worker (a warm shutdown, pool included) when the benchmark process dies.

    The benchmark starts the worker in its own session so it can kill it as a group; a
    benchmark killed by a timeout would otherwise leave the worker and its pool running.
    """
    parent = int(os.environ.get("CELERY_BASELINE_PARENT_PID", "0"))
    if parent:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # it died before the death signal was armed
            os.kill(os.getpid(), signal.SIGTERM)


def _one_image(client: replicate.Client, merchant: int, index: int) -> float:
    """Create one prediction, wait for it, download its file; the epoch time it was done."""
    prediction = client.models.predictions.create(
        model=MODEL,
        input={"prompt": f"product photo {index} for merchant {merchant}", "aspect_ratio": "1:1"},
        wait=WAIT_S,
    )
    if prediction.status not in ("succeeded", "failed", "canceled"):
        prediction.wait()  # polls every REPLICATE_POLL_INTERVAL s if the wait ran out
    if prediction.status != "succeeded":
        raise RuntimeError(f"prediction {prediction.id} {prediction.status}: {prediction.error}")
    output = prediction.output
    url = output[0] if isinstance(output, list) else output
    # FileOutput is the SDK's own download; `transform_output` only wraps https: URLs, and
    # the fake serves http:, so it is built here instead.
    if not FileOutput(url, client).read():
        raise RuntimeError(f"prediction {prediction.id}: empty output file")
    return time.time()


@app.task(name=TASK_NAME)
def make_images(merchant: int, images: int) -> dict[str, float]:
    """One merchant's job: `images` generations at once; epoch times of first image and end."""
    client = replicate.Client(
        api_token=os.environ["REPLICATE_API_TOKEN"],
        base_url=os.environ["REPLICATE_BASE_URL"],
        # The SDK's default read timeout (30 s) is shorter than the wait it asks for.
        timeout=httpx.Timeout(5.0, read=WAIT_S + 10.0),
    )
    http = client._client  # built lazily without a lock: build it before the threads race
    try:
        with ThreadPoolExecutor(max_workers=images) as pool:
            finished = list(pool.map(lambda i: _one_image(client, merchant, i), range(images)))
    finally:
        http.close()
    return {"first_image": min(finished), "done": time.time()}

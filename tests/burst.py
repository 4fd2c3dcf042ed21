"""A burst of merchants against a running production shape, as a client would make it.

Each merchant has its own user, credits and preset; all of them POST
/api/bulk-generation/start within a few seconds, then poll their job's status over HTTP every
second until it settles. What each saw is read back from the app's database afterwards: when
its first image was stored, when its run settled, how many images and credits. Shared by the
burst test (delivery, credits, limits) and `make bench` (times and costs).
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .production_shape import Shape

EXAMPLE_PRESET = Path(__file__).resolve().parents[1] / "examples" / "professional_bags.json"
FINAL = frozenset({"completed", "partial", "failed", "cancelled"})
STATUS_EVERY_S = 1.0


@dataclass
class Merchant:
    user_id: str
    api_key: str
    preset_id: str
    credits: int
    webhook_secret: str = ""
    runs: int = 1  # how many runs this merchant starts at once
    jobs: list[str] = field(default_factory=list)
    queued_at: list[float] = field(default_factory=list)


@dataclass
class JobOutcome:
    job_id: str
    user_id: str
    status: str
    queued_at: float
    first_image_at: float | None  # the first image stored
    first_asked_at: float | None  # the first image asked of a provider (stored less its latency)
    settled_at: float | None
    completed_images: int
    credits_consumed: int


@dataclass
class BurstResult:
    outcomes: list[JobOutcome]
    status_latencies_s: list[float]
    in_progress_samples: list[int]
    connection_samples: list[int]  # PostgreSQL's open connections, all databases
    start_errors: list[str]

    @property
    def started_at(self) -> float:
        return min(o.queued_at for o in self.outcomes)

    @property
    def wall_s(self) -> float:
        return max((o.settled_at or float("inf")) for o in self.outcomes) - self.started_at

    def first_image_s(self) -> list[float]:
        return sorted(
            o.first_image_at - o.queued_at for o in self.outcomes if o.first_image_at is not None
        )

    def first_asked_s(self) -> list[float]:
        return sorted(
            o.first_asked_at - o.queued_at for o in self.outcomes if o.first_asked_at is not None
        )

    def done_s(self) -> list[float]:
        return sorted(o.settled_at - o.queued_at for o in self.outcomes if o.settled_at)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def create_merchants(shape: Shape, count: int, *, credits: int = 100) -> list[Merchant]:
    from bulkgen_pipeline import db
    from bulkgen_pipeline.runs.presets import create_preset

    database = db.Database(shape.database_url)
    preset = json.loads(EXAMPLE_PRESET.read_text())
    merchants = []
    try:
        for i in range(count):
            with database.session() as session:
                user = db.create_user(session, f"burst merchant {i}", credits)
            preset_id = create_preset(database, user.user_id, preset)
            merchants.append(
                Merchant(user.user_id, user.api_key, preset_id, credits, user.webhook_secret)
            )
    finally:
        database.dispose()
    return merchants


def run_burst(
    shape: Shape,
    merchants: Sequence[Merchant],
    *,
    images: int = 5,
    timeout_s: float = 600.0,
    webhook_url: str | None = None,
) -> BurstResult:
    """Every merchant starts its runs of `images` images at once (subscribed to `webhook_url`
    when given), then polls them."""
    request: dict[str, object] = {"generation_count": images}
    if webhook_url is not None:
        request["webhook_url"] = webhook_url
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    go = threading.Event()
    deadline = time.time() + timeout_s

    def merchant_client(merchant: Merchant) -> None:
        go.wait()
        for _ in range(merchant.runs):
            queued = time.time()
            code, body = shape.request(
                "POST",
                "/api/bulk-generation/start",
                merchant.api_key,
                {"preset_id": merchant.preset_id, **request},
            )
            if code != 202:
                with lock:
                    errors.append(f"{code}: {body}")
                continue
            merchant.jobs.append(body["job_id"])
            merchant.queued_at.append(queued)
        pending = set(merchant.jobs)
        while pending and time.time() < deadline:
            for job_id in list(pending):
                asked = time.perf_counter()
                code, body = shape.request(
                    "GET", f"/api/bulk-generation/jobs/{job_id}/status", merchant.api_key
                )
                with lock:
                    latencies.append(time.perf_counter() - asked)
                if code == 200 and body["status"] in FINAL:
                    pending.discard(job_id)
            time.sleep(STATUS_EVERY_S)

    samples: list[int] = []
    connections: list[int] = []
    stop_sampling = threading.Event()
    threads = [threading.Thread(target=merchant_client, args=(m,)) for m in merchants]
    sampler = threading.Thread(
        target=_sample_in_progress, args=(shape, samples, connections, stop_sampling)
    )
    for thread in threads:
        thread.start()
    sampler.start()
    go.set()
    for thread in threads:
        thread.join()
    stop_sampling.set()
    sampler.join()
    return BurstResult(_outcomes(shape, merchants), latencies, samples, connections, errors)


def _sample_in_progress(
    shape: Shape, samples: list[int], connections: list[int], stop: threading.Event
) -> None:
    import psycopg2

    connection = psycopg2.connect(shape.database_url)  # a new snapshot for every sample
    connection.autocommit = True
    try:
        while not stop.wait(0.5):
            with connection.cursor() as cur:
                cur.execute("SELECT count(*) FROM backend_jobs WHERE status = 'processing'")
                samples.append(cur.fetchone()[0])
                cur.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                )
                connections.append(cur.fetchone()[0])
    finally:
        connection.close()


def read_rows(shape: Shape, sql: str, **params: object) -> list:
    """Rows of one read-only query on the shape's database (the CLI's direct read path)."""
    from bulkgen_pipeline.readmodel.direct import direct_query

    with direct_query(shape.database_url) as query:
        assert query is not None, "the shape's database is not at the schema head"
        return query(sql, params)


def _outcomes(shape: Shape, merchants: Sequence[Merchant]) -> list[JobOutcome]:
    queued = {
        job_id: (merchant.user_id, at)
        for merchant in merchants
        for job_id, at in zip(merchant.jobs, merchant.queued_at, strict=True)
    }
    rows = read_rows(
        shape,
        "SELECT j.uuid, j.status, h.completed_images, h.credits_consumed,"
        " EXTRACT(EPOCH FROM j.completed_at) AS settled,"
        " (SELECT EXTRACT(EPOCH FROM min(i.updated_at)) FROM generation_items i"
        "   WHERE i.run_id = j.uuid AND i.status = 'succeeded') AS first,"
        " (SELECT min(EXTRACT(EPOCH FROM i.updated_at) - i.latency_ms / 1000.0)"
        "   FROM generation_items i WHERE i.run_id = j.uuid AND i.status = 'succeeded') AS asked"
        " FROM backend_jobs j JOIN bulk_generation_header h ON h.id = j.uuid"
        " WHERE j.uuid = ANY(:jobs)",
        jobs=list(queued),
    )
    outcomes = []
    for row in rows:
        user_id, queued_at = queued[row["uuid"]]
        final = row["settled"] is not None and row["status"] in FINAL
        outcomes.append(
            JobOutcome(
                row["uuid"],
                user_id,
                row["status"],
                queued_at,
                float(row["first"]) if row["first"] is not None else None,
                float(row["asked"]) if row["asked"] is not None else None,
                float(row["settled"]) if final else None,
                row["completed_images"],
                row["credits_consumed"],
            )
        )
    return outcomes


def credits_of(shape: Shape, merchants: Sequence[Merchant]) -> dict[str, tuple[int, int]]:
    """user id -> (balance, reserved)."""
    rows = read_rows(
        shape,
        "SELECT id, credits_balance, credits_reserved FROM users WHERE id = ANY(:users)",
        users=[m.user_id for m in merchants],
    )
    return {row["id"]: (row["credits_balance"], row["credits_reserved"]) for row in rows}

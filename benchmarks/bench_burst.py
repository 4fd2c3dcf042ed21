"""A burst of merchants on the production shape, against a minimal Celery worker doing the
same provider calls, measured in the same run.

The shape is what README "Beyond one machine" documents, started the same way
(deploy/production.sh with an environment file): PostgreSQL for the app and Dagster,
deploy/dagster.yaml, a gRPC code server, the Dagster daemon, `bulkgen worker` (20 slots), the
HTTP API; the fake Replicate server answers every prediction after 2 s, through the real SDK.

- idle: one merchant at a time, queued → first image stored, and → run settled (median of 5)
- burst of N: N merchants, one 5-image run each, all started within a second or two; each
  polls its status every second. Wall = first POST → last run settled.
- fairness: one merchant queues 10 runs, another merchant one run right after; how long the
  second merchant waits for its first image, against idle + one run's worth.
- CPU per run: every process of the shape (code server, daemon, worker and its slots, API) and
  PostgreSQL, from /proc, over the burst, divided by the runs.
- baseline: benchmarks/celery_baseline.py — 20 prefork slots, the same five calls per job, no
  credits, database or ZIP.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.celery_baseline import run_celery_baseline  # noqa: E402
from benchmarks.postgres import fresh_database_url  # noqa: E402
from benchmarks.proc_stats import cpu_of_command, cpu_seconds, peak_rss_mb, process_tree  # noqa: E402
from tests.burst import create_merchants, credits_of, percentile, run_burst  # noqa: E402
from tests.fakes.replicate_server import FakeReplicate  # noqa: E402
from tests.production_shape import Shape, production_shape  # noqa: E402

SIZES = (10, 30, 100)
IMAGES = 5
LATENCY_S = 2.0
IDLE_RUNS = 5
SETTLE_PAUSE_S = 35.0  # lets the analytics refresh a burst starts (every 30 s) finish first
COMPONENTS = {  # a child of `bulkgen serve`, told by its command line
    "code server": "code-server",
    "daemon": "bulkgen_pipeline.workers.daemon",
    "worker": "bulkgen_pipeline.cli worker",
    "API": "bulkgen_pipeline.cli api",
}


def run_burst_benchmarks(sizes: tuple[int, ...] = SIZES) -> dict[str, list[dict[str, object]]]:
    with FakeReplicate(latency=LATENCY_S) as replicate, tempfile.TemporaryDirectory() as work:
        provider_env = {
            "REPLICATE_API_TOKEN": replicate.token,
            "REPLICATE_BASE_URL": replicate.base_url,
        }
        # The baseline first: it needs nothing of bulkgen, and leaves the machine as it found it.
        baselines = {
            size: run_celery_baseline(size, IMAGES, replicate.base_url, api_token=replicate.token)
            for size in sizes
        }
        database_url = fresh_database_url()
        with production_shape(Path(work), database_url, provider_env) as shape:
            idle = _idle(shape)
            bursts = []
            for size in sizes:
                time.sleep(SETTLE_PAUSE_S)
                replicate.max_in_flight_seen = 0
                bursts.append(_burst(shape, size, replicate))
            time.sleep(SETTLE_PAUSE_S)
            fairness = _fairness(shape, idle)
            memory = _memory(shape)
    for row in bursts:
        baseline = baselines[row["merchants"]]  # type: ignore[index]
        row["baseline wall s"] = baseline["wall_s"]
        row["× baseline"] = row["wall s"] / baseline["wall_s"]  # type: ignore[operator]
        row["baseline CPU s"] = baseline["worker_cpu_s"]
        # The baseline's own first image: with 20 slots and a 2 s provider it is bounded by the
        # waves of 20 jobs, as bulkgen's is by its 20 run slots.
        row["baseline first image p95 s"] = baseline["first_image_p95_s"]
    return {"idle": [idle], "bursts": bursts, "fairness": [fairness], "memory": memory}


DESIGN_MERCHANTS = 10


def run_design_comparison(merchants: int = DESIGN_MERCHANTS) -> list[dict[str, object]]:
    """The same burst on the design this replaced: Dagster's default run launcher (a fresh
    interpreter per run, started by the code server) and dagster-postgres' storage (a
    connection per operation), with its compute-log capture; against the chosen design."""
    rows = []
    with FakeReplicate(latency=LATENCY_S) as replicate, tempfile.TemporaryDirectory() as work:
        provider_env = {
            "REPLICATE_API_TOKEN": replicate.token,
            "REPLICATE_BASE_URL": replicate.base_url,
        }
        for design, yaml in (
            ("fresh run worker per run, connection per operation", _before_yaml()),
            ("warm Celery slots, pooled storage (deploy/dagster.yaml)", None),
        ):
            folder = Path(work) / str(len(rows))
            folder.mkdir()
            with production_shape(
                folder, fresh_database_url(), provider_env, dagster_yaml=yaml
            ) as shape:
                run_burst(shape, create_merchants(shape, 1), images=IMAGES)  # warm
                replicate.max_in_flight_seen = 0
                row = _burst(shape, merchants, replicate)
            rows.append({"design": design, **row})
    return rows


def _before_yaml() -> str:
    """deploy/dagster.yaml as it was: dagster-postgres storage, the default launcher."""
    yaml = (ROOT / "deploy" / "dagster.yaml").read_text()
    before = yaml.split("storage:", 1)[0] + (
        "storage:\n  postgres:\n    postgres_db:\n"
        "      hostname: {env: DAGSTER_PG_HOST}\n      username: {env: DAGSTER_PG_USER}\n"
        "      password: {env: DAGSTER_PG_PASSWORD}\n      db_name: {env: DAGSTER_PG_DB}\n"
        "      port: 5432\n      scheme: postgresql+psycopg2\n"
    )
    rest = yaml.split("# Runs wait in a queue", 1)[1]
    return before + "\n# Runs wait in a queue" + rest


def _idle(shape: Shape) -> dict[str, object]:
    first, asked, done = [], [], []
    for merchant in create_merchants(shape, IDLE_RUNS):
        result = run_burst(shape, [merchant], images=IMAGES)
        first += result.first_image_s()
        asked += result.first_asked_s()
        done += result.done_s()
        time.sleep(2.0)
    return {
        "runs": IDLE_RUNS,
        "queued → first image asked, median s": statistics.median(asked),
        "queued → first image, median s": statistics.median(first),
        "min s": min(first),
        "max s": max(first),
        "queued → settled, median s": statistics.median(done),
    }


def _burst(shape: Shape, size: int, replicate: FakeReplicate) -> dict[str, object]:
    merchants = create_merchants(shape, size)
    tree_before, pg_before = _cpu_by_component(shape), cpu_of_command("postgres")
    result = run_burst(shape, merchants, images=IMAGES)
    tree_after, pg_after = _cpu_by_component(shape), cpu_of_command("postgres")
    cpu = {name: tree_after[name] - tree_before.get(name, 0.0) for name in tree_after}
    cpu["PostgreSQL"] = pg_after - pg_before
    runs = len(result.outcomes)
    balances = credits_of(shape, merchants)
    exact = all(balances[m.user_id] == (m.credits - IMAGES, 0) for m in merchants) and all(
        o.credits_consumed == IMAGES for o in result.outcomes
    )
    return {
        "merchants": size,
        "wall s": result.wall_s,
        **_spread("first image", result.first_image_s()),
        **_spread("settled", result.done_s()),
        "runs ≤ 120 s": sum(d <= 120 for d in result.done_s()),
        "status p50 ms": 1000 * percentile(result.status_latencies_s, 50),
        "status p99 ms": 1000 * percentile(result.status_latencies_s, 99),
        "images": f"{sum(o.completed_images for o in result.outcomes)}/{size * IMAGES}",
        "credits exact": exact and not result.start_errors,
        "runs at once, max": max(result.in_progress_samples, default=0),
        "requests in flight, max": replicate.max_in_flight_seen,
        "PostgreSQL connections, max": max(result.connection_samples, default=0),
        "CPU s / run": sum(cpu.values()) / runs,
        **{f"{name} s / run": seconds / runs for name, seconds in cpu.items()},
    }


def _spread(label: str, values: list[float]) -> dict[str, float]:
    return {
        f"{label} p50 s": percentile(values, 50),
        f"{label} p95 s": percentile(values, 95),
        f"{label} max s": max(values, default=float("nan")),
    }


def _fairness(shape: Shape, idle: dict[str, object]) -> dict[str, object]:
    busy, other = create_merchants(shape, 2)
    busy.runs = 10
    result = run_burst(shape, [busy, other], images=IMAGES)
    (theirs,) = [o for o in result.outcomes if o.user_id == other.user_id]
    assert theirs.first_image_at is not None, "the other merchant got no image"
    idle_first = float(idle["queued → first image, median s"])  # type: ignore[arg-type]
    one_run = float(idle["queued → settled, median s"])  # type: ignore[arg-type]
    waited = theirs.first_image_at - theirs.queued_at
    return {
        "scenario": "merchant A queues 10 runs, merchant B one run at the same time",
        "B's first image s": waited,
        "limit: idle first image + one run s": idle_first + one_run,
        "within": waited <= idle_first + one_run,
    }


def _children(shape: Shape) -> dict[str, int]:
    found = {}
    for pid in process_tree(shape.process.pid)[1:]:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        for name, marker in COMPONENTS.items():
            if marker in command and name not in found:
                found[name] = pid
    return found


def _cpu_by_component(shape: Shape) -> dict[str, float]:
    return {name: cpu_seconds(process_tree(pid)) for name, pid in _children(shape).items()}


def _memory(shape: Shape) -> list[dict[str, object]]:
    rows = []
    for name, pid in _children(shape).items():
        tree = process_tree(pid)
        peaks = [peak_rss_mb(p) for p in tree]
        rows.append(
            {
                "process": name,
                "processes": len(tree),
                "peak RSS MB, largest": max(peaks),
                "peak RSS MB, sum (shared pages counted in each)": sum(peaks),
            }
        )
    return rows


if __name__ == "__main__":
    from benchmarks.table import print_table

    if sys.argv[1:] == ["designs"]:
        print_table("Burst benchmark: designs", run_design_comparison())
        raise SystemExit(0)
    sizes = tuple(int(a) for a in sys.argv[1:]) or SIZES
    tables = run_burst_benchmarks(sizes)
    for title, rows in tables.items():
        print_table(f"Burst benchmark: {title}", rows)

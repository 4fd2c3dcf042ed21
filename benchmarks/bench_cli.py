"""How long quick CLI commands take, as a person at a terminal waits for them (goal: < 0.5 s).

Each command is a fresh process, as when typed; the median of several runs is reported next to
the interpreter's own start-up and the import of the Dagster definitions that a quick command
must not load.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STATUS_GOAL_S = 0.5


def _median_seconds(args: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(args, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_cli_benchmarks(runs: int = 7) -> list[dict]:
    from bulkgen_pipeline import db
    from bulkgen_pipeline.runs.queueing import queue_prompt_batch

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder)
        env = {**os.environ, "BULKGEN_HOME": str(home), "BULKGEN_PROVIDERS": "local"}
        for name in ("BULKGEN_DATABASE_URL", "BULKGEN_STORAGE_URL", "DAGSTER_HOME"):
            env.pop(name, None)
        database = db.Database(f"sqlite:///{home / 'bulkgen.db'}")
        database.upgrade()
        with database.session() as session:
            user_id = db.create_user(session, "bench", 10).user_id
        job_id = queue_prompt_batch(database, user_id=user_id, batch={"prompts": [{"text": "a"}]})
        database.dispose()

        python = [sys.executable]
        cli = [*python, "-m", "bulkgen_pipeline.cli"]
        rows = [
            ("python start-up (floor)", [*python, "-c", "pass"]),
            ("bulkgen status JOB_ID", [*cli, "status", job_id]),
            ("bulkgen runs list", [*cli, "runs", "list"]),
            ("import bulkgen_pipeline.definitions", [*python, "-c", _IMPORT_DEFINITIONS]),
        ]
        results = []
        for name, args in rows:
            seconds = _median_seconds(args, env, runs)
            goal = f"< {STATUS_GOAL_S} s" if name.startswith("bulkgen") else "-"
            results.append({"command": name, "median s": seconds, "goal": goal})
        return results


_IMPORT_DEFINITIONS = "import bulkgen_pipeline.definitions"


if __name__ == "__main__":
    from benchmarks.table import print_table

    print_table("CLI: wall time of a fresh process", run_cli_benchmarks())


RUN_IMAGES = 50
RUN_LATENCY_S = 1.0
RUN_CONCURRENCY = 8
RUN_GOAL_RATIO = 1.3


def run_whole_run_benchmark(runs: int = 3) -> list[dict]:
    """`bulkgen run --count 50` as typed, on a fresh embedded default each time, against the
    preview provider made to take 1 s per image at 8 at once: the limit is ceil(50/8) x 1 s."""
    import math

    limit = math.ceil(RUN_IMAGES / RUN_CONCURRENCY) * RUN_LATENCY_S
    cli = [sys.executable, "-m", "bulkgen_pipeline.cli"]
    preset = Path(__file__).resolve().parents[1] / "examples" / "professional_bags.json"
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            env = {
                **os.environ,
                "BULKGEN_HOME": folder,
                "BULKGEN_PROVIDERS": "local",
                "BULKGEN_LOCAL_SECONDS_PER_IMAGE": str(RUN_LATENCY_S),
                "BULKGEN_LOCAL_CONCURRENCY": str(RUN_CONCURRENCY),
            }
            for name in ("BULKGEN_DATABASE_URL", "BULKGEN_STORAGE_URL", "DAGSTER_HOME"):
                env.pop(name, None)
            user = _json([*cli, "users", "create", "--name", "bench", "--credits", "100"], env)
            user_id = user["user_id"]
            created = _json(
                [*cli, "presets", "create", "--user", user_id, "--file", str(preset)], env
            )
            command = [*cli, "run", "--user", user_id, "--preset", created["preset_id"]]
            command += ["--count", str(RUN_IMAGES)]
            # The first run of a home creates its Dagster instance: a one-off, not measured.
            _json(command[:-1] + ["1"], env)
            started = time.perf_counter()
            summary = _json(command, env)
            times.append(time.perf_counter() - started)
            assert summary["completed_images"] == RUN_IMAGES, summary
    median = statistics.median(times)
    return [
        {
            "command": f"bulkgen run --count {RUN_IMAGES} (preview at {RUN_LATENCY_S:g} s, "
            f"{RUN_CONCURRENCY} at once), median of {runs}",
            "wall s": median,
            "limit s": limit,
            "× limit": median / limit,
            "goal": f"≤ {RUN_GOAL_RATIO}×",
        }
    ]


def _json(args: list[str], env: dict[str, str]) -> dict:
    import json

    done = subprocess.run(args, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout)

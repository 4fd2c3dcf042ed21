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

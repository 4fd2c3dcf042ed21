"""Concurrent first use: simultaneous `bulkgen run` processes on a new BULKGEN_HOME each end
completed or refused for credits, and the embedded Dagster instance they created still works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bulkgen_pipeline import db

RUNS = 6
CREDITS = 4  # one image per run: four runs complete, two are refused for credits


def bulkgen_process(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BULKGEN_HOME": str(home), "BULKGEN_PROVIDERS": "local"}
    for name in ("BULKGEN_DATABASE_URL", "BULKGEN_STORAGE_URL", "DAGSTER_HOME"):
        env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, "-m", "bulkgen_pipeline.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.slow
def test_simultaneous_runs_on_a_new_home_then_one_more(tmp_path):
    home = tmp_path / "home"
    database = db.Database(f"sqlite:///{home / 'bulkgen.db'}")
    database.upgrade()
    with database.session() as session:
        user_id = db.create_user(session, "Shop", CREDITS).user_id
    batch = tmp_path / "one.json"
    batch.write_text(json.dumps({"prompts": [{"text": "a red mug"}]}))
    assert not (home / "dagster_home").exists()  # the instance is created by the runs below

    processes = [
        bulkgen_process(home, "run", "--user", user_id, "--batch", str(batch)) for _ in range(RUNS)
    ]
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        outcomes.append((process.returncode, json.loads(out) if out.strip() else err[-2000:]))
    completed = [o for code, o in outcomes if code == 0 and o["status"] == "completed"]
    refused = [
        o
        for code, o in outcomes
        if code == 1 and str(o.get("error", "")).startswith("not enough credits")
    ]
    assert (len(completed), len(refused)) == (CREDITS, RUNS - CREDITS), outcomes

    with database.session() as session:
        db.add_credits(session, user_id, 1)
    out, err = bulkgen_process(home, "run", "--user", user_id, "--batch", str(batch)).communicate(
        timeout=600
    )
    assert json.loads(out)["status"] == "completed", err[-2000:]
    with database.session() as session:
        user = db.get_user(session, user_id)
        assert (user.credits_balance, user.credits_reserved) == (0, 0)
    database.dispose()

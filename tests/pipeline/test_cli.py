"""The `bulkgen` command as a merchant's operator uses it: real processes, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def bulkgen(home: Path, *args: str) -> tuple[int, dict]:
    env = {**os.environ, "BULKGEN_HOME": str(home), "BULKGEN_PROVIDERS": "local"}
    for name in ("BULKGEN_DATABASE_URL", "BULKGEN_STORAGE_URL", "DAGSTER_HOME"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "bulkgen_pipeline.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    return done.returncode, json.loads(done.stdout)


def merchant_with_preset(home: Path, credits: int) -> tuple[str, str]:
    """A user (through the CLI) and the sample preset stored for them; returns both ids."""
    code, user = bulkgen(home, "users", "create", "--name", "Shop", "--credits", str(credits))
    assert code == 0 and user["api_key"].startswith("bgk_") and user["credits"] == credits
    code, preset = bulkgen(
        home,
        "presets",
        "create",
        "--user",
        user["user_id"],
        "--file",
        str(EXAMPLES / "professional_bags.json"),
    )
    assert code == 0
    return user["user_id"], preset["preset_id"]


def test_users_presets_run_and_status(tmp_path):
    home = tmp_path / "home"
    user_id, preset_id = merchant_with_preset(home, credits=10)

    code, summary = bulkgen(home, "run", "--user", user_id, "--preset", preset_id, "--count", "3")
    assert code == 0, summary
    assert (
        summary["status"],
        summary["completed_images"],
        summary["failed_images"],
        summary["credits_consumed"],
    ) == ("completed", 3, 0, 3)
    names = zipfile.ZipFile(summary["zip"]).namelist()
    assert {
        "generation_1.png",
        "generation_3_metadata.json",
        "bulk_generation_summary.json",
    } <= set(names)
    assert json.loads(Path(summary["analytics"]).read_text())["analytics_version"] == "2.0"
    # The run is recorded in the embedded Dagster instance, where the UI shows it.
    assert any((home / "dagster_home").rglob("*.db"))

    code, status = bulkgen(home, "status", summary["job_id"])
    assert code == 0 and status["status"] == "completed" and status["credits_consumed"] == 3


def test_prompt_batch_run(tmp_path):
    home = tmp_path / "home"
    _, user = bulkgen(home, "users", "create", "--name", "Shop", "--credits", "10")
    code, summary = bulkgen(
        home, "run", "--user", user["user_id"], "--batch", str(EXAMPLES / "prompt_batch.json")
    )
    assert code == 0, summary
    assert summary["completed_images"] == 4 and "/custom/" in summary["zip"]


def test_bad_preset_is_rejected_with_field_errors(tmp_path):
    home = tmp_path / "home"
    _, user = bulkgen(home, "users", "create", "--name", "Shop", "--credits", "10")
    bad = json.loads((EXAMPLES / "professional_bags.json").read_text())
    bad["config"].update(
        {"material": "unobtainium", "generation_count": 99, "color_palette": ["red"]}
    )
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    code, output = bulkgen(
        home, "presets", "create", "--user", user["user_id"], "--file", str(path)
    )
    assert code == 1
    fields = {p["field"] for p in output["problems"]}
    assert {"config.generation_count", "config.color_palette"} <= fields


def test_insufficient_credits_exit_non_zero_with_the_reason(tmp_path):
    home = tmp_path / "home"
    user_id, preset_id = merchant_with_preset(home, credits=2)
    code, output = bulkgen(home, "run", "--user", user_id, "--preset", preset_id)
    assert code == 1 and output["error"] == "Insufficient credits: 5 needed, 2 available"


def test_queue_only_leaves_the_job_to_the_sensor_and_cancel_releases_it(tmp_path):
    home = tmp_path / "home"
    user_id, preset_id = merchant_with_preset(home, credits=10)
    code, queued = bulkgen(home, "run", "--user", user_id, "--preset", preset_id, "--queue-only")
    assert code == 0 and queued["status"] == "queued" and queued["total_images"] == 5

    # What the sensor sees: the job is queued for it, not claimed by the CLI.
    from bulkgen_pipeline import db

    database = db.Database(f"sqlite:///{home / 'bulkgen.db'}")
    with database.session() as session:
        jobs = db.jobs_after(session, 0)
        assert [(j.run_id, j.status) for j in jobs] == [(queued["job_id"], "queued")]
        assert db.get_user(session, user_id).credits_reserved == 5

    code, cancelled = bulkgen(home, "cancel", queued["job_id"])
    assert (code, cancelled["status"]) == (0, "cancelled")
    with database.session() as session:
        assert db.get_user(session, user_id).credits_reserved == 0
    database.dispose()
    code, missing = bulkgen(home, "cancel", "no-such-job")
    assert code == 1 and "no job" in missing["error"]

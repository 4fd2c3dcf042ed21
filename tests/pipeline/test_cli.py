"""The `bulkgen` command as a merchant's operator uses it: click's runner in this process, real
files and databases, and one smoke test through a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from bulkgen_pipeline import db
from bulkgen_pipeline.cli import main
from bulkgen_pipeline.db.users import MAX_CREDITS
from tests.cli_support import EXAMPLES, bulkgen


def app_database(home: Path) -> db.Database:
    return db.shared_database(f"sqlite:///{home / 'bulkgen.db'}")


def merchant_with_preset(credits: int) -> tuple[str, str]:
    """A user (through the CLI) and the sample preset stored for them; returns both ids."""
    code, user = bulkgen("users", "create", "--name", "Shop", "--credits", str(credits))
    assert code == 0 and user["api_key"].startswith("bgk_") and user["credits"] == credits
    code, preset = bulkgen(
        "presets",
        "create",
        "--user",
        user["user_id"],
        "--file",
        str(EXAMPLES / "professional_bags.json"),
    )
    assert code == 0
    return user["user_id"], preset["preset_id"]


def test_smoke_a_real_bulkgen_process_runs_a_preset(home):
    user_id, preset_id = merchant_with_preset(credits=10)
    env = {**os.environ}
    done = subprocess.run(
        [sys.executable, "-m", "bulkgen_pipeline.cli", "run", "--user", user_id]
        + ["--preset", preset_id, "--count", "3"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
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

    code, status = bulkgen("status", summary["job_id"])
    assert code == 0 and status["status"] == "completed" and status["credits_consumed"] == 3


def test_prompt_batch_run_in_process(home):
    _, user = bulkgen("users", "create", "--name", "Shop", "--credits", "10")
    code, summary = bulkgen(
        "run", "--user", user["user_id"], "--batch", str(EXAMPLES / "prompt_batch.json")
    )
    assert code == 0, summary
    assert summary["completed_images"] == 4 and "/custom/" in summary["zip"]


def test_bad_preset_is_rejected_with_field_errors(home, tmp_path):
    _, user = bulkgen("users", "create", "--name", "Shop", "--credits", "10")
    bad = json.loads((EXAMPLES / "professional_bags.json").read_text())
    bad["config"].update(
        {"material": "unobtainium", "generation_count": "5", "color_palette": ["red"]}
    )
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    code, output = bulkgen("presets", "create", "--user", user["user_id"], "--file", str(path))
    assert code == 1 and output["error"] == "invalid preset"
    fields = {p["field"] for p in output["problems"]}
    # Type problems and schema problems in one answer.
    assert {"config.generation_count", "config.color_palette", "config.material"} <= fields


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"name": "x", "category": "bags", "config": {"seed": \xff}}', "not valid UTF-8"),
        (b'{"config": {"color_weights": [NaN, 1]}}', "NaN is not a number JSON allows"),
        (b"[" * 40 + b"]" * 40, "nested deeper than 32 levels"),
        (b'{"name": "a\\u0000b"}', "NUL character"),
    ],
)
def test_broken_preset_files_get_one_clear_error(home, tmp_path, raw, says):
    _, user = bulkgen("users", "create", "--name", "Shop", "--credits", "10")
    path = tmp_path / "broken.json"
    path.write_bytes(raw)
    code, output = bulkgen("presets", "create", "--user", user["user_id"], "--file", str(path))
    assert code == 1 and output["error"] == "invalid preset"
    assert len(output["problems"]) == 1 and says in output["problems"][0]["message"]


def test_a_file_over_1_mib_is_refused_without_reading_it(home, tmp_path):
    _, user = bulkgen("users", "create", "--name", "Shop", "--credits", "10")
    path = tmp_path / "huge.json"
    path.write_bytes(b'{"name": "' + b"x" * (3 * 1024 * 1024) + b'"}')
    code, output = bulkgen("run", "--user", user["user_id"], "--batch", str(path))
    assert code == 1 and output["error"] == "invalid request"
    assert f"is {3 * 1024 * 1024 + 12} bytes" in output["problems"][0]["message"]


def test_60000_unknown_keys_give_50_problems_and_a_count(home, tmp_path):
    _, user = bulkgen("users", "create", "--name", "Shop", "--credits", "10")
    preset = json.loads((EXAMPLES / "professional_bags.json").read_text())
    preset["config"].update({f"k{i}": "x" for i in range(60_000)})
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(preset))
    result = CliRunner().invoke(
        main, ["presets", "create", "--user", user["user_id"], "--file", str(path)]
    )
    output = json.loads(result.stdout)
    assert len(output["problems"]) == 50 and output["more_problems"] == 59_950
    assert len(result.stdout) < 100_000  # was 14 MB


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--name", "", "--credits", "1"], "name"),
        (["--name", "x" * 5000, "--credits", "1"], "name"),
        (["--name", "a\x00b", "--credits", "1"], "name"),
        (["--name", "Shop", "--credits", "9223372036854775808"], "credits"),
        (["--name", "Shop", "--credits", str(MAX_CREDITS + 1)], "credits"),
        (["--name", "Shop", "--credits", "-1"], "credits"),
    ],
)
def test_bad_users_are_refused_with_the_field_named(home, args, field):
    code, output = bulkgen("users", "create", *args)
    assert code == 1 and output["error"] == "invalid user"
    assert [p["field"] for p in output["problems"]] == [field]
    code, users = bulkgen("users", "list")
    assert (code, users) == (0, [])


def test_insufficient_credits_exit_non_zero_with_the_reason(home):
    user_id, preset_id = merchant_with_preset(credits=2)
    code, output = bulkgen("run", "--user", user_id, "--preset", preset_id)
    assert code == 1 and output["error"] == "not enough credits: 5 needed, 2 available"


def test_a_malformed_provider_setting_refuses_the_run_before_any_reservation(home):
    user_id, preset_id = merchant_with_preset(credits=10)
    code, output = bulkgen(
        "run",
        "--user",
        user_id,
        "--preset",
        preset_id,
        env={"BULKGEN_REPLICATE_CONCURRENCY": "eight"},
    )
    assert code == 1 and "BULKGEN_REPLICATE_CONCURRENCY" in output["error"]
    with app_database(home).session() as session:
        assert db.jobs_after(session, 0) == []
        user = db.get_user(session, user_id)
        assert (user.credits_balance, user.credits_reserved) == (10, 0)
        assert [e.kind for e in db.ledger_entries(session, user_id=user_id)] == ["grant"]


def test_a_malformed_app_setting_is_named_by_every_command(home):
    code, output = bulkgen("users", "list", env={"BULKGEN_LEASE_SECONDS": "soon"})
    assert code == 1 and output["error"].startswith("BULKGEN_LEASE_SECONDS: 'soon'")


def test_queue_only_leaves_the_job_to_the_sensor_and_cancel_releases_it(home):
    user_id, preset_id = merchant_with_preset(credits=10)
    code, queued = bulkgen("run", "--user", user_id, "--preset", preset_id, "--queue-only")
    assert code == 0 and queued["status"] == "queued" and queued["total_images"] == 5

    # What the sensor sees: the job is queued for it, not claimed by the CLI.
    with app_database(home).session() as session:
        jobs = db.jobs_after(session, 0)
        assert [(j.run_id, j.status) for j in jobs] == [(queued["job_id"], "queued")]
        assert db.get_user(session, user_id).credits_reserved == 5

    code, cancelled = bulkgen("cancel", queued["job_id"])
    assert (code, cancelled["status"]) == (0, "cancelled")
    with app_database(home).session() as session:
        assert db.get_user(session, user_id).credits_reserved == 0
    code, missing = bulkgen("cancel", "no-such-job")
    assert code == 1 and "does not exist" in missing["error"]


def test_operators_list_users_presets_and_runs(home):
    first_user, first_preset = merchant_with_preset(credits=10)
    code, other = bulkgen("users", "create", "--name", "Other shop", "--credits", "3")
    _, queued = bulkgen("run", "--user", first_user, "--preset", first_preset, "--queue-only")
    _, done = bulkgen(
        "run", "--user", other["user_id"], "--batch", str(EXAMPLES / "prompt_batch.json")
    )
    assert done["error"] == "not enough credits: 4 needed, 3 available"

    code, users = bulkgen("users", "list")
    assert code == 0
    assert [(u["user_id"], u["name"], u["credits_available"]) for u in users] == [
        (first_user, "Shop", 5),
        (other["user_id"], "Other shop", 3),
    ]
    code, presets = bulkgen("presets", "list", "--user", first_user)
    assert code == 0 and [p["preset_id"] for p in presets] == [first_preset]
    assert presets[0]["category"] == "bags"
    code, none = bulkgen("presets", "list", "--user", other["user_id"])
    assert (code, none) == (0, [])

    code, runs = bulkgen("runs", "list")
    assert code == 0 and [r["job_id"] for r in runs] == [queued["job_id"]]
    code, runs = bulkgen("runs", "list", "--user", first_user, "--status", "queued")
    assert [r["job_id"] for r in runs] == [queued["job_id"]]
    code, runs = bulkgen("runs", "list", "--status", "completed")
    assert (code, runs) == (0, [])
    code, runs = bulkgen("runs", "list", "--user", other["user_id"])
    assert (code, runs) == (0, [])
    code, missing = bulkgen("presets", "list", "--user", "nobody")
    assert code == 1 and "does not exist" in missing["error"]


def test_quick_commands_import_only_what_they_need(home):
    """`bulkgen status` and `runs list` load neither SQLAlchemy nor Dagster, boto3, Alembic, rich
    or the request validation; `users list` needs only the db layer (make bench times them)."""
    _, user = bulkgen("users", "create", "--name", "Shop", "--credits", "10")
    _, queued = bulkgen(
        "run",
        "--user",
        user["user_id"],
        "--batch",
        str(EXAMPLES / "prompt_batch.json"),
        "--queue-only",
    )
    heavy = ["dagster", "boto3", "alembic", "rich", "jsonschema", "bulkgen_pipeline.runs.queueing"]
    probe = (
        "import sys\n"
        "from bulkgen_pipeline.cli import main\n"
        "def run(*args):\n"
        "    try:\n"
        "        main(list(args))\n"
        "    except SystemExit as exit:\n"
        "        assert not exit.code, exit.code\n"
        "run('status', sys.argv[1])\n"
        "run('runs', 'list', '--user', sys.argv[2])\n"
        f"print(sorted(set({[*heavy, 'sqlalchemy']!r}) & set(sys.modules)), file=sys.stderr)\n"
        "run('users', 'list')\n"
        f"print(sorted(set({heavy!r}) & set(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, queued["job_id"], user["user_id"]],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.split() == ["[]", "[]"]
    assert queued["job_id"] in done.stdout


@pytest.mark.parametrize("args", [("status", "some-job"), ("runs", "list"), ("users", "list")])
def test_an_unreachable_database_is_named_without_its_secrets(home, args):
    url = "postgresql://shop:s3cret-pw@127.0.0.1:1/bulkgen?password=query-pw"  # nothing on port 1
    code, answer = bulkgen(*args, env={"BULKGEN_DATABASE_URL": url})
    assert code == 1
    message = answer["error"]
    assert message.startswith("cannot connect to the database BULKGEN_DATABASE_URL=")
    assert "127.0.0.1:1/bulkgen" in message and "Connection refused" in message
    assert "s3cret-pw" not in message and "query-pw" not in message


EXITING_COMMAND = """
import atexit, sys, threading, time
from pathlib import Path
import click
from bulkgen_pipeline.cli.common import main
from bulkgen_pipeline.cli.process import command_line

folder = Path(sys.argv[1])

@main.command("exit-test")
@click.option("--code", type=int, default=0)
def exit_test(code):
    def late_work():
        time.sleep(0.3)
        (folder / "thread-finished").write_text("yes")
    threading.Thread(target=late_work).start()  # not a daemon: a normal exit waits for it
    atexit.register(lambda: (folder / "atexit-ran").write_text("yes"))
    print("x" * 200_000, end="")  # more than a pipe's buffer: it must all be flushed
    sys.exit(code)

sys.argv = ["bulkgen", "exit-test", "--code", sys.argv[2]]
command_line()
"""


@pytest.mark.parametrize("code", [0, 3])
def test_the_command_leaves_as_a_normal_exit_would_without_the_teardown(tmp_path, code):
    """`bulkgen` skips the interpreter's teardown (a second after a run), but not what anyone
    could notice: its exit code, every byte of its output, a non-daemon thread's work and the
    atexit handlers."""
    done = subprocess.run(
        [sys.executable, "-c", EXITING_COMMAND, str(tmp_path), str(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == code, done.stderr
    assert done.stdout == "x" * 200_000
    assert (tmp_path / "thread-finished").read_text() == "yes"
    assert (tmp_path / "atexit-ran").read_text() == "yes"

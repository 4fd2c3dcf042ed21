"""What an operator sees when `bulkgen` cannot do what was asked: one JSON error and exit code 1,
never a traceback, never a password. Through click's runner, as the other CLI tests."""

from __future__ import annotations

import pytest

from tests.cli_support import EXAMPLES, bulkgen

PASSWORD = "s3cret-pw"

# Each of these once ended in a ValueError, ArgumentError or NoSuchModuleError traceback.
MALFORMED_DATABASE_URLS = {
    "port not a number": f"postgresql://shop:{PASSWORD}@db.example:notaport/bulkgen",
    "unknown dialect": f"postgresq://shop:{PASSWORD}@db.example/bulkgen",
    "no scheme": "[::1:5432",
    "unclosed IPv6 host": f"postgresql://shop:{PASSWORD}@[::1:5432/bulkgen",
    "driver not installed": f"mysql://shop:{PASSWORD}@db.example/bulkgen",
}

# Every command that opens the application database (`serve` too, past its other settings;
# `worker` needs a broker first). `api` opens it before it listens.
DATABASE_COMMANDS = {
    "api": ["api", "--port", "1"],
    "users list": ["users", "list"],
    "users create": ["users", "create", "--name", "Shop", "--credits", "5"],
    "users add-credits": ["users", "add-credits", "--user", "u", "--credits", "5"],
    "users rotate-webhook-secret": ["users", "rotate-webhook-secret", "--user", "u"],
    "presets list": ["presets", "list", "--user", "u"],
    "presets create": [
        "presets",
        "create",
        "--user",
        "u",
        "--file",
        str(EXAMPLES / "professional_bags.json"),
    ],
    "run": ["run", "--user", "u", "--preset", "p"],
    "status": ["status", "some-job"],
    "runs list": ["runs", "list"],
    "cancel": ["cancel", "some-job"],
    "retry-failed": ["retry-failed", "some-job"],
    "resume": ["resume", "some-job"],
}


@pytest.mark.parametrize("url", MALFORMED_DATABASE_URLS.values(), ids=MALFORMED_DATABASE_URLS)
@pytest.mark.parametrize("args", DATABASE_COMMANDS.values(), ids=DATABASE_COMMANDS)
def test_a_malformed_database_url_is_one_json_error_naming_the_setting(home, args, url):
    code, answer = bulkgen(*args, env={"BULKGEN_DATABASE_URL": url})
    assert code == 1
    message = answer["error"]
    assert message.startswith("cannot connect to the database BULKGEN_DATABASE_URL="), message
    assert PASSWORD not in message


@pytest.mark.parametrize(
    ("url", "shown", "reason"),
    [
        (
            MALFORMED_DATABASE_URLS["port not a number"],
            "postgresql://***@db.example:notaport/bulkgen",
            "its port is not a number",
        ),
        (
            MALFORMED_DATABASE_URLS["unknown dialect"],
            "postgresq://shop:***@db.example/bulkgen",
            "'postgresq' is not a database bulkgen knows",
        ),
        ("[::1:5432", "[::1:5432", "not a database URL"),
        (
            MALFORMED_DATABASE_URLS["driver not installed"],
            "mysql://shop:***@db.example/bulkgen",
            "no driver for 'mysql' is installed",
        ),
        # The query may carry a password too (libpq reads ?password=): never shown.
        (
            "postgresql://shop@db.example:x/bulkgen?password=query-pw",
            "postgresql://***@db.example:x/bulkgen",
            "its port is not a number",
        ),
    ],
)
def test_the_error_says_what_is_wrong_with_the_url_without_its_secrets(home, url, shown, reason):
    code, answer = bulkgen("users", "list", env={"BULKGEN_DATABASE_URL": url})
    assert code == 1
    assert answer["error"].startswith(
        f"cannot connect to the database BULKGEN_DATABASE_URL={shown}: "
    )
    assert reason in answer["error"]
    assert "query-pw" not in answer["error"]


def test_bulkgen_dev_refuses_a_malformed_database_url_before_starting_anything(home):
    url = MALFORMED_DATABASE_URLS["unclosed IPv6 host"]
    code, answer = bulkgen("dev", "--api-port", "1", "-p", "1", env={"BULKGEN_DATABASE_URL": url})
    assert code == 1
    assert answer["error"] == (
        "cannot connect to the database BULKGEN_DATABASE_URL=postgresql://***@[::1:5432/bulkgen:"
        " its port is not a number"
    )


def test_a_run_past_the_active_jobs_limit_is_refused_with_the_reason(home):
    _, user = bulkgen("users", "create", "--name", "Shop", "--credits", "20")
    batch = str(EXAMPLES / "prompt_batch.json")
    limit = {"BULKGEN_MAX_ACTIVE_JOBS_PER_USER": "1"}
    code, queued = bulkgen(
        "run", "--user", user["user_id"], "--batch", batch, "--queue-only", env=limit
    )
    assert (code, queued["status"]) == (0, "queued")

    code, refused = bulkgen("run", "--user", user["user_id"], "--batch", batch, env=limit)
    assert code == 1
    assert refused == {
        "error": "you already have 1 queued or running jobs, the most allowed; "
        "wait for one to finish"
    }
    code, runs = bulkgen("runs", "list", "--user", user["user_id"])
    assert [r["job_id"] for r in runs] == [queued["job_id"]]

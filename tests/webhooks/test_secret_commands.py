"""`bulkgen users create` shows the webhook secret once; `rotate-webhook-secret` replaces it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from bulkgen_pipeline import db as dbm
from bulkgen_pipeline.cli import main
from bulkgen_pipeline.db.webhooks import webhook_secret
from bulkgen_pipeline.webhooks.signing import WebhookVerificationError, sign, verify


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("BULKGEN_HOME", str(tmp_path / "home"))
    for name in ("BULKGEN_DATABASE_URL", "BULKGEN_STORAGE_URL", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)

    def bulkgen(*args: str) -> tuple[int, dict]:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, json.loads(result.output)

    yield bulkgen
    dbm.dispose_shared_databases()


def stored_secret(home_db_url: str, user_id: str) -> str | None:
    with dbm.shared_database(home_db_url).session(readonly=True) as session:
        return webhook_secret(session, user_id)


def test_create_shows_the_secret_once_and_rotate_replaces_it(run, tmp_path):
    url = f"sqlite:///{tmp_path / 'home' / 'bulkgen.db'}"
    code, created = run("users", "create", "--name", "Shop", "--credits", "5")
    assert code == 0 and created["webhook_secret"].startswith("whsec_")
    assert stored_secret(url, created["user_id"]) == created["webhook_secret"]

    code, listed = run("users", "list")
    assert code == 0 and created["webhook_secret"] not in json.dumps(listed)

    code, rotated = run("users", "rotate-webhook-secret", "--user", created["user_id"])
    assert code == 0 and rotated["user_id"] == created["user_id"]
    new = rotated["webhook_secret"]
    assert new.startswith("whsec_") and new != created["webhook_secret"]
    assert stored_secret(url, created["user_id"]) == new

    # A delivery signed with the stored secret verifies with the new one only.
    headers = sign(stored_secret(url, created["user_id"]), "msg_1", datetime.now(UTC), b"{}")
    assert verify(new, headers, b"{}") == {}
    with pytest.raises(WebhookVerificationError):
        verify(created["webhook_secret"], headers, b"{}")


def test_rotating_an_unknown_user_fails_clearly(run):
    run("users", "create", "--name", "Shop", "--credits", "0")  # creates the database
    code, out = run("users", "rotate-webhook-secret", "--user", "nobody")
    assert code == 1 and out == {"error": "user 'nobody' does not exist"}

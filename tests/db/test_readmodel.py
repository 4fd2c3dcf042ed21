"""The job views read over a bare driver connection (what `bulkgen status` and `bulkgen runs
list` use) agree with the same views read inside a SQLAlchemy session, on SQLite and
PostgreSQL; and every database the direct path cannot serve falls back to the db layer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bulkgen_pipeline import db as dbm
from bulkgen_pipeline.db.webhooks import list_deliveries, record_attempt
from bulkgen_pipeline.readmodel import job_summary, read_job, read_jobs, user_exists
from bulkgen_pipeline.readmodel.direct import direct_query
from bulkgen_pipeline.readmodel.schema import VERSION_TABLE, head_revisions
from bulkgen_pipeline.runs.status import job_status, status_query

from .conftest import PRESET_CONFIG

# Characters that mean something to a paramstyle or to SQL, in values the views carry back.
AWKWARD_ERROR = "50% of quota :limit used; it's %(s)s"
SNAPSHOT = {"name": "Bags", "category": "bags", "config": PRESET_CONFIG, "kind": "preset"}


def _finished_job_with_everything(db, make_account) -> str:
    """A failed job with a succeeded and a failed item and a webhook delivery tried once."""
    account = make_account(credits=10)
    with db.session() as s:
        run_id = dbm.queue_bulk_job(
            s,
            user_id=account.user_id,
            preset_id=account.preset_id,
            category="bags",
            preset_snapshot=SNAPSHOT,
            image_count=3,
            webhook_url="https://hooks.example.com/bulkgen",
            webhook_events=["failed"],
        )
    with db.session() as s:
        dbm.record_item(s, run_id, 1, status="succeeded", provider="local", latency_ms=12)
        dbm.record_item(s, run_id, 2, status="failed", provider="local", error=AWKWARD_ERROR)
    with db.session() as s:
        dbm.fail_job(s, run_id, "provider gave up")
    with db.session() as s:
        [delivery] = list_deliveries(s, run_id)
        record_attempt(
            s, delivery.id, delivered=False, status_code=500, error="HTTP 500", duration_ms=7
        )
    return run_id


def test_direct_reads_equal_the_session_reads_with_real_types(db, database_url, make_account):
    run_id = _finished_job_with_everything(db, make_account)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    with db.session(readonly=True) as s:
        through_session = job_status(dbm.query_of(s), dbm.get_job(s, run_id), now=now)

    with direct_query(database_url) as query:
        assert query is not None, "a migrated database is read directly"
        job = read_job(query, run_id)
        assert job is not None
        direct = job_status(query, job, now=now)

    assert direct == through_session
    # Values come back as Python types, not as the text SQLite keeps them in.
    assert job.preset_snapshot == SNAPSHOT and job.webhook_events == ["failed"]
    assert job.created_at.tzinfo is not None and job.created_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - job.created_at) < timedelta(minutes=5)
    assert (job.status, job.error_message, job.total_images) == ("failed", "provider gave up", 3)
    items = {item["generation_index"]: item for item in direct["items"]}
    assert items[1]["status"] == "succeeded" and items[1]["latency_ms"] == 12
    assert items[2]["error"] == AWKWARD_ERROR
    [delivery] = direct["webhook_deliveries"]
    assert [a["status_code"] for a in delivery["attempts"]] == [500]
    assert delivery["next_attempt_at"] is not None
    json.dumps(direct)  # what `bulkgen status` prints


def test_job_listing_filters_and_pages_alike_on_both_paths(db, database_url, make_account, queue):
    alice, bob = make_account(name="alice"), make_account(name="bob")
    alice_runs = [queue(alice, count=1) for _ in range(3)]
    bob_run = queue(bob, count=1)
    with db.session() as s:
        dbm.request_cancel(s, alice_runs[1])
        dbm.mark_job_deleted(s, alice_runs[0])

    with direct_query(database_url) as query:
        assert query is not None
        newest_first = [j.run_id for j in read_jobs(query, include_deleted=True, limit=10)]
        assert newest_first == [bob_run, *reversed(alice_runs)]
        alive = [j.run_id for j in read_jobs(query, user_id=alice.user_id, limit=10)]
        assert alive == [alice_runs[2], alice_runs[1]]
        cancelled = read_jobs(query, user_id=alice.user_id, status="cancelled", limit=10)
        assert [j.run_id for j in cancelled] == [alice_runs[1]]
        [first] = read_jobs(query, user_id=alice.user_id, limit=1)
        [after] = read_jobs(query, user_id=alice.user_id, before_seq=first.seq, limit=1)
        assert (first.run_id, after.run_id) == (alice_runs[2], alice_runs[1])
        assert user_exists(query, alice.user_id) and not user_exists(query, "nobody")
        direct_summaries = [job_summary(j) for j in read_jobs(query, limit=10)]
    with db.session(readonly=True) as s:
        page = dbm.list_user_jobs(s, alice.user_id, limit=1)
        assert [j.run_id for j in page.jobs] == [alice_runs[2]]
        assert page.next_cursor == page.jobs[0].seq
        through_session = [job_summary(j) for j in read_jobs(dbm.query_of(s), limit=10)]
    assert direct_summaries == through_session


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_the_postgres_spellings_users_write_are_read_directly(db, database_url, make_account):
    run_id = _finished_job_with_everything(db, make_account)
    rest = database_url.split("://", 1)[1]
    for scheme in ("postgres", "postgresql", "postgresql+psycopg2"):
        with direct_query(f"{scheme}://{rest}") as query:
            assert query is not None, scheme
            assert read_job(query, run_id).status == "failed"


def test_a_missing_sqlite_file_is_left_to_the_db_layer_which_creates_it(tmp_path):
    path = tmp_path / "new" / "bulkgen.db"
    url = f"sqlite:///{path}"
    with direct_query(url) as query:
        assert query is None
    assert not path.exists(), "the direct path never creates a database"

    with status_query(url) as query:
        assert read_job(query, "no-such-job") is None
    assert path.is_file()
    with direct_query(url) as query:
        assert query is not None, "once migrated, the same file is read directly"


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "mysql+pymysql://root@127.0.0.1/test",
        "postgresql+psycopg2://nobody@127.0.0.1:1/none",  # nothing listens on port 1
    ],
)
def test_urls_the_direct_path_cannot_serve_give_none(url):
    with direct_query(url) as query:
        assert query is None


def test_a_schema_behind_the_code_is_left_to_the_db_layer(db, database_url, make_account, queue):
    run_id = queue(make_account())
    [head] = head_revisions()

    def stamp(revision: str) -> None:
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = :r"), {"r": revision})

    stamp("0001_initial")
    with direct_query(database_url) as query:
        assert query is None
    stamp(head)
    with direct_query(database_url) as query:
        assert query is not None and read_job(query, run_id) is not None


def test_a_home_whose_name_looks_url_encoded_keeps_its_database_and_is_read_directly(
    tmp_path, monkeypatch
):
    from bulkgen_pipeline.config import Settings

    home = tmp_path / "shop #1 100%25 a%20b"
    monkeypatch.setenv("BULKGEN_HOME", str(home))
    monkeypatch.delenv("BULKGEN_DATABASE_URL", raising=False)
    url = Settings.from_env().database_url
    with status_query(url) as query:  # the db layer creates and migrates it
        assert read_job(query, "no-such-job") is None
    assert (home / "bulkgen.db").is_file(), "the database lives inside BULKGEN_HOME"
    with direct_query(url) as query:
        assert query is not None

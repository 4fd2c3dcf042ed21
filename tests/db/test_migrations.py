from __future__ import annotations

import threading

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bulkgen_pipeline.db import ALL_TABLES, Database
from bulkgen_pipeline.db.models import VERSION_TABLE, Base
from bulkgen_pipeline.readmodel.schema import head_revisions

# The newest migration in the package: a new migration needs no change here.
(HEAD_REVISION,) = head_revisions()


def test_upgrade_creates_every_table(db):
    tables = set(sa.inspect(db.engine).get_table_names())
    assert set(ALL_TABLES) | {"bulkgen_alembic_version"} <= tables
    assert "alembic_version" not in tables  # left to Dagster when both share one database
    assert db.current_revision() == HEAD_REVISION


def test_migrations_match_models(db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_key_constraints(db):
    insp = sa.inspect(db.engine)
    assert insp.get_pk_constraint("backend_jobs")["constrained_columns"] == ["seq"]
    assert insp.get_pk_constraint("generation_items")["constrained_columns"] == [
        "run_id",
        "generation_index",
    ]
    uniques = {
        t: [tuple(u["column_names"]) for u in insp.get_unique_constraints(t)]
        for t in ("img_history", "credit_ledger", "backend_jobs", "users")
    }
    assert ("aws_folder_id", "generation_index") in uniques["img_history"]
    assert ("run_id", "kind", "pass_number") in uniques["credit_ledger"]
    assert ("uuid",) in uniques["backend_jobs"]
    assert ("api_key_hash",) in uniques["users"]


def test_upgrade_is_idempotent_and_safe_to_race(database_url):
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        database = Database(database_url)
        try:
            barrier.wait()
            database.upgrade()
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            database.dispose()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    database = Database(database_url)
    database.upgrade()
    assert database.current_revision() == HEAD_REVISION
    database.dispose()


def test_downgrade_to_base_drops_tables(db):
    cfg = db.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert not set(ALL_TABLES) & set(sa.inspect(db.engine).get_table_names())
    db.upgrade()
    assert set(ALL_TABLES) <= set(sa.inspect(db.engine).get_table_names())


def test_sqlite_pragmas(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'x.db'}")
    with database.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    assert (tmp_path / "nested" / "dir" / "x.db").exists()
    database.dispose()


def test_in_memory_sqlite_works_across_threads():
    database = Database("sqlite://")
    database.upgrade()
    result: list[int] = []

    def count() -> None:
        with database.session() as s:
            result.append(s.execute(sa.text("SELECT count(*) FROM users")).scalar_one())

    t = threading.Thread(target=count)
    t.start()
    t.join()
    assert result == [0]


def test_session_rolls_back_on_error(db):
    from bulkgen_pipeline.db import create_user, get_user

    created = {}
    try:
        with db.session() as s:
            created["u"] = create_user(s, "bob", 3)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with db.session() as s:
        assert get_user(s, created["u"].user_id) is None


def test_readonly_session_does_not_wait_for_a_writer(db):
    from bulkgen_pipeline.db import create_user, get_user

    with db.session() as s:
        created = create_user(s, "carol", 4)
    with db.session() as writer:
        create_user(writer, "dave", 1)  # holds the write lock (SQLite) / an open transaction
        with db.session(readonly=True) as reader:
            assert get_user(reader, created.user_id).credits_balance == 4


def test_upgrade_works_from_any_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    database = Database(f"sqlite:///{tmp_path / 'cwd.db'}")
    database.upgrade()
    assert database.current_revision() == HEAD_REVISION
    database.dispose()


def test_no_table_shares_a_name_with_dagster_storage():
    """Production keeps the app's and Dagster's tables in one PostgreSQL database, and Dagster
    decides whether to create its storage by looking for table names: an app table named
    `schedules` (Dagster's legacy schedule table) made it skip creating `jobs`, and every
    sensor tick of the production shape then failed."""
    from dagster._core.storage.event_log.schema import SqlEventLogStorageMetadata
    from dagster._core.storage.runs.schema import RunStorageSqlMetadata
    from dagster._core.storage.schedules.schema import ScheduleStorageSqlMetadata

    metadata = (RunStorageSqlMetadata, SqlEventLogStorageMetadata, ScheduleStorageSqlMetadata)
    dagster_tables = {name for m in metadata for name in m.tables}
    dagster_tables |= {"schedules", "schedule_ticks", "alembic_version"}  # names it checks for
    assert dagster_tables & {*ALL_TABLES, *Base.metadata.tables, VERSION_TABLE} == set()

"""The engine: the usual PostgreSQL URL spellings, concurrent first use of a new SQLite file,
no Alembic import when the database is already at head, and PostgreSQL reads in autocommit."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from bulkgen_pipeline import db as dbm
from bulkgen_pipeline.db.engine import (
    MIGRATIONS_DIR,
    Database,
    PoolSize,
    head_revisions,
    normalize_url,
)


def test_head_revisions_agree_with_alembic():
    from alembic.script import ScriptDirectory

    assert head_revisions() == frozenset(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgresql://u:p@h:5432/d", "postgresql+psycopg2"),
        ("postgres://u:p@h:5432/d", "postgresql+psycopg2"),
        ("postgresql+psycopg2://u@h/d", "postgresql+psycopg2"),
        ("sqlite:///x.db", "sqlite"),
    ],
)
def test_plain_postgres_spellings_mean_psycopg2(given, driver):
    assert normalize_url(given).drivername == driver


@pytest.mark.postgres
@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_plain_postgres_urls_work_against_the_server(postgres_url, scheme):
    plain = scheme + "://" + postgres_url.split("://", 1)[1]
    assert plain.startswith(f"{scheme}://") and "psycopg2" not in plain
    database = Database(plain)
    try:
        database.upgrade()
        with database.session() as session:
            user = dbm.create_user(session, "plain url", 3)
        with database.session() as session:
            assert dbm.get_user(session, user.user_id).credits_balance == 3
        assert database.current_revision() in head_revisions()
    finally:
        database.dispose()


_FIRST_USE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from bulkgen_pipeline import db

    index, workers, rounds = (int(arg) for arg in sys.argv[1:4])
    folder = sys.argv[4]
    for r in range(rounds):
        # A file barrier: every worker starts on the new file at the same moment.
        Path(folder, f"ready-{r}-{index}").touch()
        while len(list(Path(folder).glob(f"ready-{r}-*"))) < workers:
            time.sleep(0.001)
        database = db.shared_database(f"sqlite:///{folder}/round-{r}.db")
        with database.session() as session:
            db.create_user(session, f"worker {index}", 1)
        db.dispose_shared_databases()
    """
)


def test_concurrent_first_use_of_a_new_sqlite_file(tmp_path):
    """Six processes open, migrate and write a brand-new file at once, three times over: WAL is
    set once and the migration runs once, so none fails with "database is locked"."""
    workers, rounds = 6, 3
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _FIRST_USE, str(i), str(workers), str(rounds), str(tmp_path)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(workers)
    ]
    errors = [p.communicate(timeout=120)[1] for p in processes]
    assert [p.returncode for p in processes] == [0] * workers, errors
    for r in range(rounds):
        engine = sa.create_engine(f"sqlite:///{tmp_path}/round-{r}.db")
        with engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(sa.text("SELECT count(*) FROM users")).scalar() == workers
            versions = conn.execute(sa.text("SELECT version_num FROM bulkgen_alembic_version"))
            assert frozenset(versions.scalars()) == head_revisions()
        engine.dispose()


def test_a_database_at_head_is_opened_without_importing_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'b.db'}"
    Database(url).upgrade()
    probe = (
        "import sys; from bulkgen_pipeline import db; db.shared_database(sys.argv[1]); "
        "print('alembic' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, url], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "False", done.stderr


def test_postgres_reads_skip_begin_and_commit_and_leave_writes_transactional(postgres_url):
    """Read-only sessions on PostgreSQL run in autocommit (no BEGIN/COMMIT round trips: a
    status poll is two of them). The pooled connection they used must come back to a write
    session as transactional as ever: a write session's error undoes its writes."""
    database = Database(postgres_url, pool=PoolSize(size=1, overflow=0))  # one connection
    database.upgrade()
    try:
        with database.session(readonly=True) as session:
            assert session.connection().connection.dbapi_connection.autocommit
        with pytest.raises(RuntimeError), database.session() as session:
            assert not session.connection().connection.dbapi_connection.autocommit
            api_key = dbm.create_user(session, "rolled back", 5).api_key
            raise RuntimeError("the request failed after its write")
        with database.session(readonly=True) as session:
            assert dbm.find_user_by_api_key(session, api_key) is None
    finally:
        database.dispose()

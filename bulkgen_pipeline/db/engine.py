"""The `Database`: one SQLAlchemy engine + session factory, shared by every thread of a process.

SQLite (the embedded default) is configured for several writers: WAL, a busy timeout, foreign
keys on, and every transaction opened with ``BEGIN IMMEDIATE`` so that two writers queue on the
lock instead of failing with "database is locked" when one upgrades a read to a write.
PostgreSQL is used through psycopg2 with READ COMMITTED plus explicit row locks where it matters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from bulkgen_pipeline.db.models import VERSION_TABLE

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 60.0
# Arbitrary constant key for pg_advisory_xact_lock around migrations.
_MIGRATION_LOCK_KEY = 0x62756C6B67656E  # "bulkgen"
_READONLY_OPTION = "bulkgen_readonly"


def _is_memory_sqlite(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)


class Database:
    """Cheap to share: create once per process (see `shared_database`), use from any thread."""

    def __init__(self, url: str) -> None:
        if url.startswith("postgres://"):  # the Heroku/libpq spelling
            url = "postgresql://" + url[len("postgres://") :]
        self.url: URL = make_url(url)
        self.dialect: str = self.url.get_backend_name()
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_S,
            }
            if _is_memory_sqlite(self.url):
                kwargs["poolclass"] = StaticPool
            else:
                Path(self.url.database or "").expanduser().resolve().parent.mkdir(
                    parents=True, exist_ok=True
                )
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = sa.create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, wal=not _is_memory_sqlite(self.url))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(**{_READONLY_OPTION: True}), expire_on_commit=False
        )

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A session whose transaction commits when the block ends, rolls back on error.

        On SQLite a normal session takes the write lock when it begins (BEGIN IMMEDIATE), so
        don't nest two sessions in one thread. `readonly=True` begins a deferred transaction
        that never waits for writers (WAL): use it for polling / status reads."""
        session = (self._read_sessions if readonly else self._sessions)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def alembic_config(self) -> Config:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option(
            "sqlalchemy.url", self.url.render_as_string(hide_password=False).replace("%", "%%")
        )
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Run Alembic migrations to `revision` in one transaction (safe to race across
        processes: Postgres takes an advisory lock, SQLite a write lock)."""
        cfg = self.alembic_config()
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY}
                )
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return context.get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (below) emit BEGIN itself instead of pysqlite's implicit deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get(_READONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


_shared: dict[str, Database] = {}
_shared_lock = threading.Lock()


def shared_database(url: str, *, upgrade: bool = True) -> Database:
    """The process-wide `Database` for `url`; migrations run the first time it is asked for."""
    with _shared_lock:
        db = _shared.get(url)
        if db is None:
            db = Database(url)
            if upgrade:
                db.upgrade()
            _shared[url] = db
        return db


def dispose_shared_databases() -> None:
    """Close every shared engine (tests, process shutdown)."""
    with _shared_lock:
        for db in _shared.values():
            db.dispose()
        _shared.clear()

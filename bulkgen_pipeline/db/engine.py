"""The `Database`: one SQLAlchemy engine + session factory, shared by every thread of a process.

SQLite (the embedded default) is configured for several writers: WAL, a busy timeout, foreign
keys on, and every transaction opened with ``BEGIN IMMEDIATE`` so that two writers queue on the
lock instead of failing with "database is locked" when one upgrades a read to a write. WAL is
set once, when the file is first opened, under an inter-process file lock that also serializes
migrations: switching the journal mode of a new file from several processes at once fails.
PostgreSQL is used through psycopg2 with READ COMMITTED plus explicit row locks where it matters;
plain ``postgresql://`` and ``postgres://`` URLs mean psycopg2 too (SQLAlchemy 2.1 would pick
psycopg 3, which bulkgen does not install).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from bulkgen_pipeline.db.errors import InvalidDatabaseUrl
from bulkgen_pipeline.readmodel.queries import Query
from bulkgen_pipeline.readmodel.schema import MIGRATIONS_DIR, VERSION_TABLE, head_revisions

if TYPE_CHECKING:
    from alembic.config import Config

SQLITE_BUSY_TIMEOUT_S = 60.0
# Arbitrary constant key for pg_advisory_xact_lock around migrations.
_MIGRATION_LOCK_KEY = 0x62756C6B67656E  # "bulkgen"
_READONLY_OPTION = "bulkgen_readonly"


POSTGRES_DRIVER = "postgresql+psycopg2"


def _is_memory_sqlite(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or "mode=memory" in str(url)


def normalize_url(url: str) -> URL:
    """The URL with its driver made explicit: ``postgres://`` (libpq, Heroku) and bare
    ``postgresql://`` go through psycopg2, the PostgreSQL driver bulkgen installs.

    Raises InvalidDatabaseUrl, saying why, for a URL that SQLAlchemy cannot read, names a
    database it does not know, or needs a driver that is not installed: every way of opening
    the database comes through here, so each of them refuses such a URL the same way."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    try:
        parsed = make_url(url)
    except ValueError:  # the one ValueError make_url raises: int() of the port
        raise InvalidDatabaseUrl(shown_url(url), "its port is not a number") from None
    except sa.exc.ArgumentError:
        raise InvalidDatabaseUrl(shown_url(url), _NOT_A_URL) from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername=POSTGRES_DRIVER)
    try:
        parsed.get_dialect().import_dbapi()
    except sa.exc.NoSuchModuleError:
        reason = f"'{parsed.drivername}' is not a database bulkgen knows; {_EXAMPLES}"
        raise InvalidDatabaseUrl(shown_url(url), reason) from None
    except ImportError:
        reason = f"no driver for '{parsed.drivername}' is installed; {_EXAMPLES}"
        raise InvalidDatabaseUrl(shown_url(url), reason) from None
    return parsed


_EXAMPLES = "use sqlite:///path/to/bulkgen.db or postgresql://user:password@host:5432/database"
_NOT_A_URL = f"not a database URL; {_EXAMPLES}"


def shown_url(url: str) -> str:
    """`url` as it may be printed: without its password, nor its query (libpq reads a
    ``?password=`` there too). A URL too malformed to parse shows nothing before its last "@"
    but the scheme, since where its password ends cannot be told."""
    try:
        return make_url(url).set(query={}).render_as_string(hide_password=True)
    except (ValueError, sa.exc.ArgumentError):
        pass
    credentials, at, location = url.rpartition("@")
    location = location.split("?", 1)[0]
    if not at:
        return location
    scheme, separator, _ = credentials.partition("://")
    return f"{scheme}{separator}***@{location}" if separator else f"***@{location}"


@dataclass(frozen=True)
class PoolSize:
    """Connections a process keeps (`size`) and opens beyond them when busy (`overflow`).

    SQLAlchemy's default (5 + 10) suits one server process; twenty run slots, each a process,
    would hold up to 300 of PostgreSQL's 100 default connections, so they take a small one."""

    size: int = 5
    overflow: int = 10


class Database:
    """Cheap to share: create once per process (see `shared_database`), use from any thread."""

    def __init__(self, url: str, pool: PoolSize | None = None) -> None:
        self.url: URL = normalize_url(url)
        self.dialect: str = self.url.get_backend_name()
        # Held while a new SQLite file is set up or migrated, across processes.
        self._lock_path: str | None = None
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            kwargs["connect_args"] = {
                "check_same_thread": False,
                "timeout": SQLITE_BUSY_TIMEOUT_S,
            }
            if _is_memory_sqlite(self.url):
                kwargs["poolclass"] = StaticPool
            else:
                path = Path(self.url.database or "").expanduser().resolve()
                path.parent.mkdir(parents=True, exist_ok=True)
                self._lock_path = f"{path}.lock"
                if not _in_wal_mode(path):
                    with self._first_use_lock():
                        _enable_wal(path)
        else:
            kwargs["pool_pre_ping"] = True
            pool = pool or PoolSize()
            kwargs["pool_size"], kwargs["max_overflow"] = pool.size, pool.overflow
        self.engine: Engine = sa.create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        read_options: dict[str, Any] = {_READONLY_OPTION: True}
        if self.dialect == "postgresql":
            # A read under READ COMMITTED (PostgreSQL's default) sees a new snapshot at every
            # statement, inside a transaction or not: BEGIN and COMMIT around reads only cost
            # two round trips (a status poll made six before: two sessions of ping, BEGIN,
            # COMMIT).
            read_options["isolation_level"] = "AUTOCOMMIT"
        self._read_sessions = sessionmaker(
            self.engine.execution_options(**read_options), expire_on_commit=False
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
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.set_main_option(
            "sqlalchemy.url", self.url.render_as_string(hide_password=False).replace("%", "%%")
        )
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Run Alembic migrations to `revision` in one transaction (safe to race across
        processes: Postgres takes an advisory lock, SQLite a file lock and its write lock).

        A database already at head is left alone without importing Alembic, which alone
        takes longer than a quick command like `bulkgen status` should."""
        if revision == "head" and self._stamped_revisions() == head_revisions():
            return
        from alembic import command

        cfg = self.alembic_config()
        with self._first_use_lock(), self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY}
                )
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def _first_use_lock(self) -> contextlib.AbstractContextManager[Any]:
        """An inter-process lock on a SQLite file's set-up (nothing to lock for a server)."""
        if self._lock_path is None:
            return contextlib.nullcontext()
        from filelock import FileLock

        return FileLock(self._lock_path)

    def _stamped_revisions(self) -> frozenset[str]:
        # A reading transaction: on SQLite it does not queue behind a running writer.
        with self.engine.execution_options(**{_READONLY_OPTION: True}).connect() as conn:
            if not sa.inspect(conn).has_table(VERSION_TABLE):
                return frozenset()
            rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))
            return frozenset(rows.scalars())

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            return context.get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()


def _in_wal_mode(path: Path) -> bool:
    """Whether an existing file is in WAL mode already (reading the mode takes no lock)."""
    if not path.exists() or path.stat().st_size == 0:
        return False
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)
    try:
        return str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"
    finally:
        connection.close()


def _enable_wal(path: Path) -> None:
    """Put the file in WAL mode once (it is persistent); call with the file lock held."""
    connection = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT_S)
    try:
        mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (below) emit BEGIN itself instead of pysqlite's implicit deferred BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        # Per connection, unlike journal_mode; NORMAL is durable enough under WAL.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get(_READONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


# SQLSTATE classes that mean the server cannot serve this connection now: connection
# exceptions, and an administrator or crash shutting it down or starting it up.
_UNREACHABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03")
_NO_SQLSTATE = object()


def is_unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached right now (refused, dropped, shutting
    down, no pooled connection free), a fault that retrying later cures, as opposed to a
    statement the database refused."""
    if isinstance(exc, sa.exc.TimeoutError):  # every pooled connection busy past the timeout
        return True
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return False
    # psycopg2 sets pgcode to the server's SQLSTATE, None when the client found the connection
    # gone or never got one; SQLite's errors have no pgcode and are never a network fault.
    code = getattr(exc.orig, "pgcode", _NO_SQLSTATE)
    if code is _NO_SQLSTATE:
        return False
    return code is None or str(code).startswith(_UNREACHABLE_SQLSTATES)


def query_of(session: Session) -> Query:
    """The session as a `readmodel.Query`: plain SQL in the session's transaction, after
    flushing what the session holds so the reads see it."""

    def query(sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        session.flush()
        return [dict(row) for row in session.execute(sa.text(sql), dict(params)).mappings()]

    return query


_shared: dict[str, Database] = {}
_shared_lock = threading.Lock()


def shared_database(url: str, *, upgrade: bool = True, pool: PoolSize | None = None) -> Database:
    """The process-wide `Database` for `url`; migrations run the first time it is asked for.

    `pool` applies when this call creates it (a process that wants a small pool asks first)."""
    with _shared_lock:
        db = _shared.get(url)
        if db is None:
            db = Database(url, pool)
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

"""The job views read over a bare DBAPI connection (sqlite3 or psycopg2), for quick commands.

Only a database the db layer has already set up is read this way: a SQLite file that exists,
a PostgreSQL URL for psycopg2, a schema at the code's head revision. Anything else (a new or
in-memory database, another driver, a schema to migrate, a server that refuses the connection)
gets None, and the caller goes through the db layer, which creates, migrates or reports.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from bulkgen_pipeline.readmodel.queries import Query
from bulkgen_pipeline.readmodel.schema import VERSION_TABLE, head_revisions

_SQLITE_PREFIX = "sqlite:///"
# The spellings `db.normalize_url` sends to psycopg2.
_POSTGRES_SCHEMES = ("postgres://", "postgresql://", "postgresql+psycopg2://")
_NAMED_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_BUSY_TIMEOUT_S = 10.0


@contextmanager
def direct_query(url: str) -> Iterator[Query | None]:
    """A read-only `Query` on `url` for the length of the block, or None (see the module)."""
    if url.startswith(_SQLITE_PREFIX):
        # The path as SQLAlchemy reads it: up to the query, %XX decoded.
        with _sqlite_query(unquote(url[len(_SQLITE_PREFIX) :].split("?", 1)[0])) as query:
            yield query
    elif url.startswith(_POSTGRES_SCHEMES):
        with _postgres_query("postgresql://" + url.split("://", 1)[1]) as query:
            yield query
    else:
        yield None


@contextmanager
def _sqlite_query(database: str) -> Iterator[Query | None]:
    path = Path(database).expanduser() if database not in ("", ":memory:") else None
    if path is None or not path.is_file():
        yield None
        return
    connection = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_S
    )
    try:
        connection.row_factory = sqlite3.Row
        connection.isolation_level = None
        connection.execute("BEGIN")  # deferred: one snapshot, never waits for a writer

        def query(sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
            return [dict(row) for row in connection.execute(sql, dict(params))]

        yield query if _at_head(query, sqlite3.Error) else None
    finally:
        connection.close()


@contextmanager
def _postgres_query(dsn: str) -> Iterator[Query | None]:
    import psycopg2
    import psycopg2.extras

    try:
        connection = psycopg2.connect(dsn)
    except psycopg2.Error:
        yield None
        return
    try:
        connection.set_session(readonly=True)

        def query(sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
            with connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
                cursor.execute(_NAMED_PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%")), params)
                return [dict(row) for row in cursor.fetchall()]

        yield query if _at_head(query, psycopg2.Error) else None
    finally:
        connection.close()


def _at_head(query: Query, driver_error: type[Exception]) -> bool:
    try:
        rows = query(f"SELECT version_num FROM {VERSION_TABLE}", {})
    except driver_error:
        return False
    return frozenset(row["version_num"] for row in rows) == head_revisions()

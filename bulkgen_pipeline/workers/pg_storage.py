"""Dagster's PostgreSQL storage on one small pool of connections instead of one per operation.

dagster-postgres opens and closes a connection for every storage operation (NullPool): a bulk
run writes ~60 events and reads its run and assets as often, 220–370 connections in all, and
each costs PostgreSQL a backend process (measured: 1.67 s of PostgreSQL CPU per 5-image run,
0.15 s pooled). This is the same storage with its run, event-log and schedule parts sharing one
pool per process; `deploy/dagster.yaml` selects it for every process of the deployment.

It also remembers the answers to Dagster's schema probes ("does this table / column exist?"),
which it otherwise asks PostgreSQL's catalog about ~50 times per run: the schema only changes
by `dagster instance migrate`, after which every process is restarted anyway; and that a run's
partition exists, which Dagster asks ~20 times per run.

The pool is small on purpose: a worker slot executes one run at a time, and PostgreSQL's
`max_connections` (100 by default) is shared by every process. After a fork (Celery's prefork
children) the inherited pool is dropped, so no two processes share a connection.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, cast

import dagster._check as check
from dagster import Field, IntSource
from dagster._config.config_schema import UserConfigSchema
from dagster._serdes import ConfigurableClassData
from dagster_postgres.storage import DagsterPostgresStorage
from dagster_postgres.utils import create_pg_engine, pg_config, pg_url_from_config

from ..db.engine import PoolSize

# Kept: a run's main thread (its events) and a watcher; beyond them a connection is opened for
# the moment and closed again.
DEFAULT_POOL_SIZE = 2
DEFAULT_MAX_OVERFLOW = 3
POOL_RECYCLE_S = 3600


class PooledPostgresStorage(DagsterPostgresStorage):
    def __init__(
        self,
        postgres_url: str,
        should_autocreate_tables: bool = True,
        inst_data: ConfigurableClassData | None = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        max_overflow: int = DEFAULT_MAX_OVERFLOW,
    ) -> None:
        super().__init__(postgres_url, should_autocreate_tables, inst_data)
        self.pool_size = check.int_param(pool_size, "pool_size")
        self.max_overflow = check.int_param(max_overflow, "max_overflow")
        parts = (self._run_storage, self._event_log_storage, self._schedule_storage)
        _share_engine(parts, _pooled_engine(postgres_url, self.pool_size, self.max_overflow))
        for part in parts:
            for probe in _SCHEMA_PROBES:
                if hasattr(part, probe):
                    setattr(part, probe, _remembered(getattr(part, probe)))
        events = self._event_log_storage
        events.has_dynamic_partition = RememberedPartitions(  # type: ignore[method-assign]
            events.has_dynamic_partition
        )

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return {
            **cast(dict[str, Any], pg_config()),
            "pool_size": Field(IntSource, is_required=False, default_value=DEFAULT_POOL_SIZE),
            "max_overflow": Field(IntSource, is_required=False, default_value=DEFAULT_MAX_OVERFLOW),
        }

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> PooledPostgresStorage:
        return PooledPostgresStorage(
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            inst_data=inst_data,
            pool_size=config_value.get("pool_size", DEFAULT_POOL_SIZE),
            max_overflow=config_value.get("max_overflow", DEFAULT_MAX_OVERFLOW),
        )


def _pooled_engine(postgres_url: str, pool_size: int, max_overflow: int) -> Any:
    engine = create_pg_engine(
        postgres_url,
        isolation_level="AUTOCOMMIT",
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=POOL_RECYCLE_S,
        # No pre-ping: it doubled the round trips (11 % of a run worker's time, profiled). A
        # connection PostgreSQL dropped fails its operation once, and SQLAlchemy then replaces
        # every connection of the pool that is older than that failure.
    )
    _guard_forks(engine)
    return engine


def _share_engine(parts: Any, engine: Any) -> None:
    for part in parts:
        part._engine.dispose()
        part._engine = engine


def _parts(instance: Any) -> list[Any]:
    parts = (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
    return [part for part in parts if getattr(part, "_engine", None) is not None]


def resize_pool(instance: Any, pool: PoolSize) -> None:
    """Give `instance`'s storage a pool of another size (a worker slot's is smaller than the
    daemon's: twenty slots share PostgreSQL's connections)."""
    parts = _parts(instance)
    if parts:
        url = parts[0]._engine.url.render_as_string(hide_password=False)
        _share_engine(parts, _pooled_engine(url, pool.size, pool.overflow))


# Methods of the run and event-log storages that inspect the schema on every call. Each takes
# (table or column name) or (connection, column name); the answer depends on the names only.
_SCHEMA_PROBES = (
    "has_table",
    "has_asset_key_col",
    "_has_asset_key_col_on_connection",
    "has_run_stats_index_cols",
    "has_bulk_actions_selector_cols",
    "has_backfill_id_column",
    "has_bulk_action_job_name_column",
)


def _remembered(probe: Callable[..., bool]) -> Callable[..., bool]:
    answers: dict[tuple[str, ...], bool] = {}

    @functools.wraps(probe)
    def remembered(*args: Any) -> bool:
        key = tuple(a for a in args if isinstance(a, str))  # a connection is not part of it
        if key not in answers:
            answers[key] = probe(*args)
        return answers[key]

    return remembered


def _guard_forks(engine: Any) -> None:
    """SQLAlchemy's recipe for pools across os.fork(): a connection made in another process is
    invalidated on checkout instead of being shared with it."""
    from sqlalchemy import event, exc

    @event.listens_for(engine, "connect")
    def _remember_pid(_: Any, connection_record: Any) -> None:
        connection_record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _refuse_foreign(_: Any, connection_record: Any, connection_proxy: Any) -> None:
        if connection_record.info.get("pid") != os.getpid():
            connection_record.dbapi_connection = connection_proxy.dbapi_connection = None
            raise exc.DisconnectionError("connection made in another process")


def _engines(instance: Any) -> list[Any]:
    return list({id(part._engine): part._engine for part in _parts(instance)}.values())


def release_connections(instance: Any) -> None:
    """Close the pooled connections of `instance`'s storage that are not in use (the parent of
    the worker slots does, before it forks them)."""
    for engine in _engines(instance):
        engine.dispose()  # the parts share one engine: each is closed once


def check_connections(instance: Any) -> None:
    """Make sure the connection a worker slot kept from its last run still works, once per run,
    instead of a pre-ping before every operation: PostgreSQL may have dropped it meanwhile (a
    restart, an idle timeout), and a run must not fail its first event write for that."""
    from sqlalchemy import exc, text

    for engine in _engines(instance):
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except exc.DBAPIError:
            engine.dispose()  # the run's first operation opens a fresh connection


class RememberedPartitions:
    """`has_dynamic_partition` answered from memory once it has answered yes.

    Dagster asks whether a run's partition exists ~20 times per run (each step, output and
    check); bulkgen adds a partition once, before its first run, and never deletes one, so a
    "yes" stays true. A "no" is asked again every time. Bounded: forgets everything at 10 000
    partitions."""

    LIMIT = 10_000

    def __init__(self, has_dynamic_partition: Callable[[str, str], bool]) -> None:
        self._ask = has_dynamic_partition
        self._known: set[tuple[str, str]] = set()

    def __call__(self, partitions_def_name: str, partition_key: str) -> bool:
        key = (partitions_def_name, partition_key)
        if key in self._known:
            return True
        exists = self._ask(partitions_def_name, partition_key)
        if exists:
            if len(self._known) >= self.LIMIT:
                self._known.clear()
            self._known.add(key)
        return exists

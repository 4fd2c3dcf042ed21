"""The production dagster.yaml is a valid instance config on a real PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy.engine import make_url

from bulkgen_pipeline.assets.partitions import BULK_RUN_PARTITIONS
from bulkgen_pipeline.db import Database
from bulkgen_pipeline.readmodel.schema import head_revisions

PARTITIONS = BULK_RUN_PARTITIONS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def production_instance_home(tmp_path, postgres_url, monkeypatch):
    """A DAGSTER_HOME holding deploy/dagster.yaml, its environment pointing at the test
    PostgreSQL; returns that database's URL."""
    url = make_url(postgres_url)
    for name, value in {
        "DAGSTER_PG_HOST": url.host,
        "DAGSTER_PG_USER": url.username,
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_DB": url.database,
        "DAGSTER_HOME": str(tmp_path),
        "BULKGEN_BROKER_URL": "redis://127.0.0.1:6379/13",
    }.items():
        monkeypatch.setenv(name, value)
    shutil.copy(REPO / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    return url


@pytest.mark.postgres
def test_production_instance_shares_one_postgres_database_with_the_app(
    production_instance_home, postgres_url
):
    app = Database(postgres_url)
    app.upgrade()
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        concurrency = instance.get_concurrency_config()
        limits = concurrency.run_queue_config.tag_concurrency_limits
        assert {"key": "user_id", "value": {"applyLimitPerUniqueValue": True}, "limit": 3} in limits
        assert concurrency.run_queue_config.max_concurrent_runs == 20
        assert concurrency.pool_config.default_pool_limit == 20
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.run_launcher).__name__ == "CeleryRunLauncher"
        # The storage works: a dynamic partition round-trips through PostgreSQL.
        instance.add_dynamic_partitions(PARTITIONS, ["run-1"])
        assert instance.get_dynamic_partitions(PARTITIONS) == ["run-1"]
    # Each kept its own migration history: the app is still at head, and upgrades again cleanly.
    assert {app.current_revision()} == head_revisions()
    app.upgrade()
    app.dispose()


@pytest.mark.postgres
def test_production_storage_reuses_its_connections_instead_of_one_per_operation(
    production_instance_home,
):
    """dagster-postgres alone opens a PostgreSQL session per storage operation (224 per 5-image
    run, measured); the pooled storage of deploy/dagster.yaml keeps reusing a few."""
    import psycopg2

    url = production_instance_home

    def sessions_so_far() -> int:
        connection = psycopg2.connect(host=url.host, user=url.username, dbname=url.database)
        try:
            with connection.cursor() as cur:
                cur.execute(
                    "SELECT sessions FROM pg_stat_database WHERE datname = %s", (url.database,)
                )
                return cur.fetchone()[0]
        finally:
            connection.close()

    with dg.DagsterInstance.get() as instance:
        instance.get_runs(limit=1)  # the first use creates the pool's first connection
        before = sessions_so_far()
        for i in range(40):
            instance.add_dynamic_partitions(PARTITIONS, [f"run-{i}"])
            instance.get_runs(limit=1)
            instance.all_instigator_state()
        opened = sessions_so_far() - before
    # Our own two look-ups count as two sessions; the 120 storage operations opened none.
    assert opened <= 3, opened


@pytest.mark.postgres
def test_production_storage_asks_once_whether_a_partition_exists(production_instance_home):
    """Dagster asks ~20 times per run whether the run's partition exists; once it does, the
    pooled storage answers from memory. A partition that does not exist is asked every time."""
    from sqlalchemy import event

    with dg.DagsterInstance.get() as instance:
        asked: list[str] = []
        engine = instance.event_log_storage._engine  # noqa: SLF001 (counting its queries)
        event.listen(
            engine,
            "before_cursor_execute",
            lambda _c, _cur, statement, *_: (
                asked.append(statement) if "dynamic_partitions" in statement else None
            ),
        )
        assert not instance.has_dynamic_partition(PARTITIONS, "later")
        assert not instance.has_dynamic_partition(PARTITIONS, "later")
        instance.add_dynamic_partitions(PARTITIONS, ["later"])
        asked.clear()
        for _ in range(20):
            assert instance.has_dynamic_partition(PARTITIONS, "later")
        assert len(asked) == 1, asked


@pytest.mark.postgres
def test_a_slot_whose_kept_connection_was_dropped_starts_its_next_run_on_a_new_one(
    production_instance_home,
):
    """Worker slots keep their connection between runs (no pre-ping per operation): when
    PostgreSQL dropped it meanwhile, the check at the start of the run replaces it, instead of
    the run's first event write failing."""
    import psycopg2
    from sqlalchemy import text

    from bulkgen_pipeline.workers.pg_storage import check_connections

    url = production_instance_home
    with dg.DagsterInstance.get() as instance:
        with instance.run_storage._engine.connect() as kept:  # noqa: SLF001 (the pool's one)
            backend = kept.execute(text("SELECT pg_backend_pid()")).scalar()
        admin = psycopg2.connect(host=url.host, user=url.username, dbname=url.database)
        admin.autocommit = True
        with admin.cursor() as cur:  # what a PostgreSQL restart or idle timeout does to it
            cur.execute("SELECT pg_terminate_backend(%s)", (backend,))
        admin.close()
        check_connections(instance)
        assert instance.get_runs(limit=1) == []  # the run's first operation works

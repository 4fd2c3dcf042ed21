"""The production dagster.yaml is a valid instance config on a real PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy.engine import make_url

from bulkgen_pipeline.db import Database

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_production_instance_shares_one_postgres_database_with_the_app(
    tmp_path, postgres_url, monkeypatch
):
    app = Database(postgres_url)
    app.upgrade()
    url = make_url(postgres_url)
    monkeypatch.setenv("DAGSTER_PG_HOST", url.host)
    monkeypatch.setenv("DAGSTER_PG_USER", url.username)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", url.password or "")
    monkeypatch.setenv("DAGSTER_PG_DB", url.database)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")

    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        concurrency = instance.get_concurrency_config()
        limits = concurrency.run_queue_config.tag_concurrency_limits
        assert {"key": "user_id", "value": {"applyLimitPerUniqueValue": True}, "limit": 3} in limits
        assert concurrency.run_queue_config.max_concurrent_runs == 20
        assert concurrency.pool_config.default_pool_limit == 4
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        # The storage works: a dynamic partition round-trips through PostgreSQL.
        instance.add_dynamic_partitions("bulk_runs", ["run-1"])
        assert instance.get_dynamic_partitions("bulk_runs") == ["run-1"]
    # Each kept its own migration history: the app is still at head, and upgrades again cleanly.
    assert app.current_revision() == "0002_api_events_leases"
    app.upgrade()
    app.dispose()

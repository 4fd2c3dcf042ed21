from __future__ import annotations

import dagster as dg
import sqlalchemy as sa

from bulkgen_pipeline.db import ALL_TABLES, Database, create_user, get_user
from bulkgen_pipeline.resources.database import DatabaseResource


def test_database_resource_shares_one_migrated_database(database_url):
    resource = DatabaseResource(url=database_url)
    database = resource.get_database()
    assert isinstance(database, Database)
    assert DatabaseResource(url=database_url).get_database() is database
    assert set(ALL_TABLES) <= set(sa.inspect(database.engine).get_table_names())


def test_database_resource_inside_an_asset(database_url):
    @dg.asset
    def make_user(database: DatabaseResource) -> dg.MaterializeResult:
        with database.get_database().session() as s:
            created = create_user(s, "from-asset", 3)
        return dg.MaterializeResult(metadata={"user_id": created.user_id})

    result = dg.materialize([make_user], resources={"database": DatabaseResource(url=database_url)})
    assert result.success
    (mat,) = result.asset_materializations_for_node("make_user")
    user_id = mat.metadata["user_id"].value
    with DatabaseResource(url=database_url).get_database().session() as s:
        assert get_user(s, user_id).credits_balance == 3

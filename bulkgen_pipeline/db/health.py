"""Whether the database answers at all (the health check's question)."""

from __future__ import annotations

from sqlalchemy import text

from bulkgen_pipeline.db.engine import Database


def ping(database: Database) -> None:
    """Raises the driver's error unless the database answers a trivial query."""
    with database.session(readonly=True) as session:
        session.execute(text("SELECT 1"))

"""Dagster resource for the application database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import dagster as dg

from bulkgen_pipeline.db import Database, shared_database


class DatabaseResource(dg.ConfigurableResource):
    """The bulkgen database at `url` (``sqlite:///…`` or ``postgresql://…``), migrated to head
    the first time a process asks for it."""

    url: str

    def get_database(self) -> Database:
        return shared_database(self.url)

"""Dagster resource for the application database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import dagster as dg

from bulkgen_pipeline.config import Settings
from bulkgen_pipeline.db import Database, shared_database

_DEFAULTS = Settings.model_fields


class DatabaseResource(dg.ConfigurableResource):
    """The bulkgen database at `url` (``sqlite:///…`` or ``postgresql://…``), migrated to head
    the first time a process asks for it, and the job-lease rules kept in it.

    `lease_seconds` (BULKGEN_LEASE_SECONDS) and `max_resumes` (BULKGEN_MAX_RESUMES) are given
    by `build_resources` from the Settings it was handed; made without them, the resource has
    the Settings' defaults."""

    url: str
    lease_seconds: float = float(_DEFAULTS["lease_seconds"].default)
    max_resumes: int = int(_DEFAULTS["max_resumes"].default)

    def get_database(self) -> Database:
        return shared_database(self.url)

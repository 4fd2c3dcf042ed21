"""Which schema revision the code expects, known without importing SQLAlchemy or Alembic."""

from __future__ import annotations

import functools
import re
from pathlib import Path

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "db" / "migrations"
# Our own Alembic version table: Dagster's PostgreSQL storage keeps its migrations in
# `alembic_version`, and both must be able to share one database.
VERSION_TABLE = "bulkgen_alembic_version"

_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


@functools.cache
def head_revisions() -> frozenset[str]:
    """The head revision(s) of migrations/versions, read from the files' `revision` and
    `down_revision` lines (tests/db check this against Alembic's own answer)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        for name, value in _REVISION_LINE.findall(path.read_text(encoding="utf-8")):
            found = set(re.findall(r"[\"']([^\"']+)[\"']", value))
            (revisions if name == "revision" else parents).update(found)
    return frozenset(revisions - parents)

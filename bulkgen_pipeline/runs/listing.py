"""Listings, one use case each for every adapter that shows them: a user's runs a page at a
time (API and console), runs by user and status (`bulkgen runs list`), the users, a user's
presets and the newest run of each.

`find_runs` reads through a `readmodel.Query`, like `runs.status`, so `bulkgen runs list` loads
no SQLAlchemy; the others take the database, whose layer is imported when they are called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..readmodel import JobView, Query, read_jobs, user_exists
from .errors import NotFound

if TYPE_CHECKING:
    from .. import db
    from ..db.overview import LastRun
    from ..db.users import UserView


def find_runs(
    query: Query, *, user_id: str | None = None, status: str | None = None, limit: int = 50
) -> list[JobView]:
    """Runs newest first, deleted ones too: every user's, or `user_id`'s (NotFound if there is
    no such user)."""
    if user_id is not None and not user_exists(query, user_id):
        raise NotFound(f"user '{user_id}' does not exist")
    return read_jobs(query, user_id=user_id, status=status, limit=limit, include_deleted=True)


def user_runs(
    database: db.Database,
    user_id: str,
    *,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 20,
    tag: str | None = None,
    test: bool = False,
) -> db.RunPage:
    """The user's live (with `test`: test-mode) runs newest first, `limit` at a time, those
    tagged `tag` or all; `cursor` is the previous page's `next_cursor` (as text, the way it
    travels in a URL)."""
    from .. import db

    with database.session(readonly=True) as session:
        return db.list_user_jobs(
            session,
            user_id,
            status=status,
            before_seq=int(cursor) if cursor else None,
            limit=limit,
            tag=tag,
            test=test,
        )


def users(database: db.Database) -> list[UserView]:
    """Every user with their credits, oldest first."""
    from ..db.users import list_users

    with database.session(readonly=True) as session:
        return list_users(session)


def user_presets(database: db.Database, user_id: str) -> list[db.PresetView]:
    """The user's presets, oldest first (NotFound if there is no such user)."""
    with database.session(readonly=True) as session:
        return _user_presets(session, user_id)


def presets_and_last_runs(
    database: db.Database, user_id: str
) -> tuple[list[db.PresetView], dict[str, LastRun]]:
    """The user's presets, and the newest (not deleted) run of each by preset id (never-run
    ones absent): the console's presets page."""
    from ..db.overview import last_runs_by_preset

    with database.session(readonly=True) as session:
        found = _user_presets(session, user_id)
        return found, last_runs_by_preset(session, user_id, [p.id for p in found])


def _user_presets(session: Any, user_id: str) -> list[db.PresetView]:
    from .. import db

    found = db.list_presets(session, user_id)
    # Only an empty list asks whether the user exists: one query less on every listing.
    if not found and db.get_user(session, user_id) is None:
        raise NotFound(f"user '{user_id}' does not exist")
    return found

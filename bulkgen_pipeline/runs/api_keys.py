"""A user's API key: made when the user is created (db.create_user), replaced on request.

The key is shown once, by the command that makes it; only its hash is kept.
"""

from __future__ import annotations

from .. import db
from ..db.console_sessions import end_console_sessions_of
from ..db.users import replace_api_key
from .queueing import NotFound


def user_of_api_key(database: db.Database, api_key: str) -> db.UserView | None:
    """The owner of `api_key` (looked up by its hash), with `test_mode` for their test-mode
    key; None for an unknown key."""
    with database.session(readonly=True) as session:
        return db.find_user_by_api_key(session, api_key)


def rotate_api_key(database: db.Database, user_id: str, *, test: bool = False) -> str:
    """Give the user a new API key (the test-mode one with `test`) and return it. The old key
    stops working at once, and so do the console sessions signed in with any key of theirs (a
    leaked key may have made one)."""
    with database.session() as session:
        try:
            api_key = replace_api_key(session, user_id, test=test)
        except db.UnknownUser:
            raise NotFound(f"user '{user_id}' does not exist") from None
        end_console_sessions_of(session, user_id)
    return api_key

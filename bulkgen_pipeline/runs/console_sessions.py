"""Signing in to the console with an API key, and out again. A session is a row in the app
database (see db/console_sessions.py), so any API process can end it and all of them agree."""

from __future__ import annotations

from dataclasses import dataclass

from .. import db
from ..db.console_sessions import console_session_user, end_console_session, start_console_session


@dataclass(frozen=True)
class SignedIn:
    user: db.UserView
    token: str  # for the session cookie only: never logged, never shown


def sign_in(database: db.Database, api_key: str) -> SignedIn | None:
    """A new session for the owner of `api_key` (checked by its hash); None for an unknown key."""
    if not api_key:
        return None
    with database.session() as session:
        user = db.find_user_by_api_key(session, api_key)
        if user is None:
            return None
        return SignedIn(user, start_console_session(session, user.id, test=user.test_mode))


def signed_in_user(database: db.Database, token: str) -> db.UserView | None:
    """Whose session `token` is, while it lasts (None once it ended or expired)."""
    with database.session(readonly=True) as session:
        return console_session_user(session, token)


def sign_out(database: db.Database, token: str) -> None:
    with database.session() as session:
        end_console_session(session, token)

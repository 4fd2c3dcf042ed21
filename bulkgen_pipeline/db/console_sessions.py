"""Console sessions, kept in the database so that every API process agrees at once when one
ends: signing out deletes its row, a new API key deletes all of its merchant's rows.

The cookie carries a random token; only its SHA-256 is stored, so reading this table gives no
one a session.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.models import ConsoleSession, User, utcnow
from bulkgen_pipeline.db.users import UserView, user_view

SESSION_LIFETIME = timedelta(hours=12)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_console_session(
    session: Session, user_id: str, now: datetime | None = None, *, test: bool = False
) -> str:
    """A new session for the user (in test mode when signed in with the test-mode key); returns
    its token (for the cookie, never stored)."""
    now = now or utcnow()
    # Ended here rather than by a sweeper: the table keeps about 12 hours of sign-ins.
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=_token_hash(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            is_test=test,
        )
    )
    session.flush()
    return token


def console_session_user(
    session: Session, token: str, now: datetime | None = None
) -> UserView | None:
    """The user signed in with `token`, while the session lasts; None once it has ended."""
    row = session.execute(
        select(User, ConsoleSession.is_test)
        .join(ConsoleSession, ConsoleSession.user_id == User.id)
        .where(
            ConsoleSession.token_hash == _token_hash(token),
            ConsoleSession.expires_at > (now or utcnow()),
        )
        .execution_options(populate_existing=True)
    ).one_or_none()
    return None if row is None else user_view(row[0], test_mode=bool(row[1]))


def end_console_session(session: Session, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _token_hash(token)))


def end_console_sessions_of(session: Session, user_id: str) -> int:
    """End every console session of the user; returns how many there were."""
    result = session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))
    return result.rowcount  # type: ignore[attr-defined,no-any-return]

"""Creating a user: their starting credits (a ledger grant), API key and webhook secret, the
last two shown once to whoever created them (`bulkgen users create`, the demo)."""

from __future__ import annotations

from .. import db


def create_user(database: db.Database, name: str, credits: int) -> db.CreatedUser:
    """Raises InvalidInput naming `name` or `credits`."""
    with database.session() as session:
        return db.create_user(session, name, credits)

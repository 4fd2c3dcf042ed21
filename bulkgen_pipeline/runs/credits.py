"""Granting credits: how an operator tops up a merchant's balance.

A grant is a row of the append-only credit ledger (kind `grant`, with the operator's note), so
the books still balance: balance == grants − charges. The merchant sees it, note and all, on
the console's account page.
"""

from __future__ import annotations

from .. import db
from ..db.overview import recent_ledger_entries
from .queueing import NotFound


def recent_ledger(database: db.Database, user_id: str) -> list[db.LedgerEntry]:
    """The user's newest ledger entries that moved credits, newest first (the account page)."""
    with database.session(readonly=True) as session:
        return recent_ledger_entries(session, user_id)


def grant_credits(
    database: db.Database, user_id: str, credits: int, *, note: str | None = None
) -> db.UserView:
    """Add `credits` (1 or more) to the user's balance; returns the user as it is now.

    Raises InvalidInput naming `credits` or `note`, NotFound for an unknown user."""
    with database.session() as session:
        try:
            return db.add_credits(session, user_id, credits, note=note)
        except db.UnknownUser:
            raise NotFound(f"user '{user_id}' does not exist") from None

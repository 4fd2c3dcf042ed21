"""Granting credits: how an operator tops up a merchant's balance.

A grant is a row of the append-only credit ledger (kind `grant`, with the operator's note), so
the books still balance: balance == grants − charges. The merchant sees it, note and all, on
the console's account page.
"""

from __future__ import annotations

from .. import db
from ..db.limits import note_low_credits
from .queueing import NotFound


def grant_credits(
    database: db.Database, user_id: str, credits: int, *, note: str | None = None
) -> db.UserView:
    """Add `credits` (1 or more) to the user's balance; returns the user as it is now.

    Raises InvalidInput naming `credits` or `note`, NotFound for an unknown user."""
    with database.session() as session:
        try:
            granted = db.add_credits(session, user_id, credits, note=note)
        except db.UnknownUser:
            raise NotFound(f"user '{user_id}' does not exist") from None
        note_low_credits(session, user_id)  # back above the threshold: the next fall alerts
        return granted

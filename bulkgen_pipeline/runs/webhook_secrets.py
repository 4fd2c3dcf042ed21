"""A user's webhook signing secret: made when the user is created, replaced on request.

The secret is shown once, by the command that makes it; bulkgen keeps it (it must sign with it)
but never prints it again, nor writes it into a log or an error.
"""

from __future__ import annotations

from .. import db
from ..db.webhooks import set_webhook_secret
from ..domain.credentials import new_secret
from .queueing import NotFound


def rotate_webhook_secret(database: db.Database, user_id: str) -> str:
    """Give the user a new secret and return it. Deliveries from now on, retries of earlier
    events included, are signed with it; the old one stops working at once."""
    secret = new_secret()
    with database.session() as session:
        try:
            set_webhook_secret(session, user_id, secret)
        except db.UnknownUser:
            raise NotFound(f"user '{user_id}' does not exist") from None
    return secret

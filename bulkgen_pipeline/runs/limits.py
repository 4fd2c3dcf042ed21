"""A merchant's spending limits, for the API, the console and the CLI: the daily image limit
(the operator's ceiling, the merchant's own lower one) and the low-credit alert."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import db
from ..db import limits as stored
from ..db.ledger import lock_user
from ..db.overview import recent_ledger_entries
from ..domain.limits import DailyImages
from .errors import NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Limits:
    day: DailyImages
    low_credit_threshold: int | None

    def as_json(self) -> dict[str, object]:
        return {
            "daily_images": self.day.own,
            "daily_images_ceiling": self.day.ceiling,
            "daily_images_effective": self.day.limit,
            "images_today": self.day.used,
            "resets_at": self.day.resets_at.isoformat(),
            "low_credit_threshold": self.low_credit_threshold,
        }


def limits_of(database: db.Database, user_id: str) -> Limits:
    with database.session(readonly=True) as session:
        return _limits(session, user_id)


def account_overview(database: db.Database, user_id: str) -> tuple[list[db.LedgerEntry], Limits]:
    """The console's account page: the newest ledger entries that moved credits (newest
    first) and the limits, in one session."""
    with database.session(readonly=True) as session:
        return recent_ledger_entries(session, user_id), _limits(session, user_id)


def _limits(session: Session, user_id: str) -> Limits:
    try:
        return Limits(*stored.read_limits(session, user_id))
    except db.UnknownUser:
        raise NotFound(f"user '{user_id}' does not exist") from None


def set_own_limits(
    database: db.Database,
    user_id: str,
    *,
    daily_images: int | None,
    low_credit_threshold: int | None,
) -> Limits:
    """The merchant's own limits (InvalidInput naming the field: a daily limit above the
    operator's ceiling, a negative or non-whole number)."""
    with database.session() as session:
        try:
            lock_user(session, user_id)
        except db.UnknownUser:
            raise NotFound(f"user '{user_id}' does not exist") from None
        stored.set_own_limits(
            session,
            user_id,
            daily_images_limit=daily_images,
            low_credit_threshold=low_credit_threshold,
        )
        stored.note_low_credits(session, user_id)  # already below a new threshold: alert now
    return limits_of(database, user_id)


def set_daily_ceiling(database: db.Database, user_id: str, ceiling: int | None) -> Limits:
    """The operator's ceiling on a merchant's images a day (`bulkgen users set-limits`)."""
    with database.session() as session:
        try:
            stored.set_daily_ceiling(session, user_id, ceiling)
        except db.UnknownUser:
            raise NotFound(f"user '{user_id}' does not exist") from None
    return limits_of(database, user_id)

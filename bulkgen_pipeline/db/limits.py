"""A merchant's spending limits: the daily image count and the low-credit alert."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.errors import UnknownUser
from bulkgen_pipeline.db.events import queue_delivery
from bulkgen_pipeline.db.models import BackendJob, User
from bulkgen_pipeline.domain.errors import FieldProblem, InvalidInput
from bulkgen_pipeline.domain.limits import MAX_DAILY_IMAGES, DailyImages, day_start, next_reset
from bulkgen_pipeline.readmodel.views import utcnow

CREDITS_LOW = "credits.low"


def _user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UnknownUser(user_id)
    return user


def read_limits(
    session: Session, user_id: str, now: datetime | None = None
) -> tuple[DailyImages, int | None]:
    """The merchant's daily limits with the images their live runs started today (UTC), and
    their low-credit threshold: one query."""
    now = now or utcnow()
    started_today = (
        select(func.coalesce(func.sum(BackendJob.requested_count), 0))
        .where(
            BackendJob.user_id == user_id,
            BackendJob.created_at >= day_start(now),
            BackendJob.is_test.is_(False),  # test images spend nothing
        )
        .scalar_subquery()
    )
    row = session.execute(
        select(
            User.daily_image_ceiling,
            User.daily_image_limit,
            User.low_credit_threshold,
            started_today,
        ).where(User.id == user_id)
    ).one_or_none()
    if row is None:
        raise UnknownUser(user_id)
    ceiling, own, threshold, used = row
    return DailyImages(ceiling, own, int(used or 0), next_reset(now)), threshold


def daily_images(session: Session, user_id: str, now: datetime | None = None) -> DailyImages:
    """The merchant's limits and the images their runs started today (UTC)."""
    return read_limits(session, user_id, now)[0]


def _limit_problem(field: str, value: int | None) -> FieldProblem | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_DAILY_IMAGES:
        return FieldProblem(field, f"must be a whole number from 0 to {MAX_DAILY_IMAGES} or null")
    return None


def set_daily_ceiling(session: Session, user_id: str, ceiling: int | None) -> DailyImages:
    """The operator's ceiling on the merchant's images a day (None: no ceiling)."""
    problem = _limit_problem("daily_images", ceiling)
    if problem is not None:
        raise InvalidInput([problem])
    _user(session, user_id).daily_image_ceiling = ceiling
    session.flush()
    return daily_images(session, user_id)


def set_own_limits(
    session: Session,
    user_id: str,
    *,
    daily_images_limit: int | None,
    low_credit_threshold: int | None,
) -> DailyImages:
    """The merchant's own daily limit (at most the operator's ceiling) and low-credit
    threshold; None clears either."""
    user = _user(session, user_id)
    problems = [
        p
        for p in (
            _limit_problem("daily_images", daily_images_limit),
            _limit_problem("low_credit_threshold", low_credit_threshold),
        )
        if p is not None
    ]
    ceiling = user.daily_image_ceiling
    above_ceiling = (
        not problems
        and daily_images_limit is not None
        and ceiling is not None
        and daily_images_limit > ceiling
    )
    if above_ceiling:
        problems.append(
            FieldProblem("daily_images", f"must be at most your operator's limit of {ceiling}")
        )
    if problems:
        raise InvalidInput(problems)
    user.daily_image_limit = daily_images_limit
    if user.low_credit_threshold != low_credit_threshold:
        user.low_credit_alerted_at = None  # a new threshold alerts afresh
    user.low_credit_threshold = low_credit_threshold
    session.flush()
    return daily_images(session, user_id)


def note_low_credits(session: Session, user_id: str, run_id: str | None = None) -> bool:
    """After the user's available credits changed: when they are now below the threshold and
    no alert went out since they last were above it, record the alert and queue `credits.low`
    to the webhook of `run_id` (the run whose reservation crossed it), if it has one. Back at
    or above the threshold, the next fall alerts again. Returns whether it alerted."""
    user = _user(session, user_id)
    threshold = user.low_credit_threshold
    if threshold is None:
        return False
    available = user.credits_balance - user.credits_reserved
    if available >= threshold:
        user.low_credit_alerted_at = None
        return False
    if user.low_credit_alerted_at is not None:
        return False
    now = utcnow()
    user.low_credit_alerted_at = now
    url = (
        session.scalar(select(BackendJob.webhook_url).where(BackendJob.uuid == run_id))
        if run_id is not None
        else None
    )
    if url and run_id is not None:
        queue_delivery(
            session,
            run_id=run_id,
            user_id=user_id,
            url=url,
            event_type=CREDITS_LOW,
            data={"user_id": user_id, "available": available, "threshold": threshold},
            now=now,
        )
    session.flush()
    return True

"""Users, API keys (only a SHA-256 hash is stored) and credit grants."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bulkgen_pipeline.db.errors import UnknownUser
from bulkgen_pipeline.db.ledger import add_ledger_entry, lock_user
from bulkgen_pipeline.db.models import User
from bulkgen_pipeline.domain.credentials import new_secret
from bulkgen_pipeline.domain.errors import FieldProblem, InvalidInput
from bulkgen_pipeline.domain.text import name_problem

API_KEY_PREFIX = "bgk_"
# The balance columns are INTEGER: 32-bit signed on PostgreSQL. SQLite would store more, so the
# limit is checked here for both, and a top-up may not push a balance past it either.
MAX_CREDITS = 2**31 - 1


@dataclass(frozen=True)
class CreatedUser:
    user_id: str
    api_key: str  # shown once; only its hash is stored
    webhook_secret: str  # shown once; signs the user's webhooks


@dataclass(frozen=True)
class UserView:
    id: str
    name: str
    credits_balance: int
    credits_reserved: int
    credits_available: int
    created_at: datetime

    @property
    def user_id(self) -> str:
        return self.id

    @property
    def balance(self) -> int:
        return self.credits_balance

    @property
    def reserved(self) -> int:
        return self.credits_reserved

    @property
    def available(self) -> int:
        return self.credits_available


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def _new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def user_view(user: User) -> UserView:
    return UserView(
        id=user.id,
        name=user.name,
        credits_balance=user.credits_balance,
        credits_reserved=user.credits_reserved,
        credits_available=user.credits_balance - user.credits_reserved,
        created_at=user.created_at,
    )


def credits_problem(
    amount: object, field: str = "credits", *, least: int = 0
) -> FieldProblem | None:
    """Why `amount` is not a credit amount (an integer least..MAX_CREDITS), or None."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        return FieldProblem(field, f"must be an integer, got {amount!r}")
    if not least <= amount <= MAX_CREDITS:
        return FieldProblem(field, f"must be between {least} and {MAX_CREDITS}, got {amount}")
    return None


def create_user(session: Session, name: str, credits: int) -> CreatedUser:
    """Create a user with `credits` (recorded as a ledger grant) and a fresh API key.

    Raises InvalidInput (a ValueError) naming the field for a bad name or credit amount."""
    problems = []
    problem = name_problem(name)
    if problem is not None:
        problems.append(FieldProblem("name", problem))
    problems.extend(p for p in [credits_problem(credits)] if p is not None)
    if problems:
        raise InvalidInput(problems)
    api_key = _new_api_key()
    webhook_secret = new_secret()
    user = User(
        id=str(uuid.uuid4()),
        name=name.strip(),
        api_key_hash=hash_api_key(api_key),
        webhook_secret=webhook_secret,
        credits_balance=credits,
        credits_reserved=0,
    )
    session.add(user)
    session.flush()
    if credits:
        add_ledger_entry(session, user_id=user.id, run_id=None, kind="grant", amount=credits)
    return CreatedUser(user_id=user.id, api_key=api_key, webhook_secret=webhook_secret)


def get_user(session: Session, user_id: str) -> UserView | None:
    user = session.execute(
        select(User).where(User.id == user_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    return None if user is None else user_view(user)


def replace_api_key(session: Session, user_id: str) -> str:
    """Give the user a new API key and return it; the old one stops working. Raises
    UnknownUser when there is no such user."""
    api_key = _new_api_key()
    changed = session.execute(
        update(User).where(User.id == user_id).values(api_key_hash=hash_api_key(api_key))
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise UnknownUser(user_id)
    return api_key


def find_user_by_api_key(session: Session, api_key: str) -> UserView | None:
    if not api_key:
        return None
    user = session.execute(
        select(User).where(User.api_key_hash == hash_api_key(api_key))
    ).scalar_one_or_none()
    return None if user is None else user_view(user)


def add_credits(
    session: Session, user_id: str, amount: int, *, note: str | None = None
) -> UserView:
    """Top up a user's balance by `amount` (at least 1): a `grant` ledger row, with `note`
    saying why (a name's rules: one line of printable text).

    Raises InvalidInput naming `credits` or `note`, UnknownUser when there is no such user."""
    problems = [p for p in [credits_problem(amount, least=1)] if p is not None]
    note_problem = None if note is None else name_problem(note)
    if note_problem is not None:
        problems.append(FieldProblem("note", note_problem))
    if problems:
        raise InvalidInput(problems)
    user = lock_user(session, user_id)
    if user.credits_balance + amount > MAX_CREDITS:
        raise InvalidInput(
            [
                FieldProblem(
                    "credits",
                    f"would raise the balance to {user.credits_balance + amount}, past the "
                    f"limit of {MAX_CREDITS}",
                )
            ]
        )
    user.credits_balance += amount
    add_ledger_entry(
        session,
        user_id=user_id,
        run_id=None,
        kind="grant",
        amount=amount,
        note=None if note is None else note.strip(),
    )
    session.flush()
    return user_view(user)


def list_users(session: Session) -> list[UserView]:
    """Every user, oldest first (operators find ids here; no key hash is returned)."""
    return [user_view(u) for u in session.scalars(select(User).order_by(User.created_at, User.id))]

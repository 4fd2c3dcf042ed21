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
# A test-mode key (the payment providers' convention): its runs use the preview renderer,
# charge nothing and are marked test. A live key never starts with it (see _new_api_key).
TEST_API_KEY_PREFIX = API_KEY_PREFIX + "test_"
# The balance columns are INTEGER: 32-bit signed on PostgreSQL. SQLite would store more, so the
# limit is checked here for both, and a top-up may not push a balance past it either.
MAX_CREDITS = 2**31 - 1


@dataclass(frozen=True)
class CreatedUser:
    user_id: str
    api_key: str  # shown once; only its hash is stored
    webhook_secret: str  # shown once; signs the user's webhooks
    test_api_key: str  # shown once; only its hash is stored


@dataclass(frozen=True)
class UserView:
    id: str
    name: str
    credits_balance: int
    credits_reserved: int
    credits_available: int
    created_at: datetime
    # Signed in with the test-mode key (API call or console session): test runs only.
    test_mode: bool = False

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


def _new_api_key(*, test: bool = False) -> str:
    if test:
        return TEST_API_KEY_PREFIX + secrets.token_urlsafe(32)
    while True:  # a live key that read as a test key would never be found
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        if not is_test_api_key(key):
            return key


def is_test_api_key(api_key: str) -> bool:
    return api_key.startswith(TEST_API_KEY_PREFIX)


def user_view(user: User, *, test_mode: bool = False) -> UserView:
    return UserView(
        id=user.id,
        name=user.name,
        credits_balance=user.credits_balance,
        credits_reserved=user.credits_reserved,
        credits_available=user.credits_balance - user.credits_reserved,
        created_at=user.created_at,
        test_mode=test_mode,
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
    api_key, test_api_key = _new_api_key(), _new_api_key(test=True)
    webhook_secret = new_secret()
    user = User(
        id=str(uuid.uuid4()),
        name=name.strip(),
        api_key_hash=hash_api_key(api_key),
        test_api_key_hash=hash_api_key(test_api_key),
        webhook_secret=webhook_secret,
        credits_balance=credits,
        credits_reserved=0,
    )
    session.add(user)
    session.flush()
    if credits:
        add_ledger_entry(session, user_id=user.id, run_id=None, kind="grant", amount=credits)
    return CreatedUser(
        user_id=user.id,
        api_key=api_key,
        webhook_secret=webhook_secret,
        test_api_key=test_api_key,
    )


def get_user(session: Session, user_id: str) -> UserView | None:
    user = session.execute(
        select(User).where(User.id == user_id).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    return None if user is None else user_view(user)


def replace_api_key(session: Session, user_id: str, *, test: bool = False) -> str:
    """Give the user a new API key (their test-mode key with `test`; a user made before test
    keys gets their first) and return it; the old one stops working. Raises UnknownUser when
    there is no such user."""
    api_key = _new_api_key(test=test)
    column = "test_api_key_hash" if test else "api_key_hash"
    changed = session.execute(
        update(User).where(User.id == user_id).values({column: hash_api_key(api_key)})
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise UnknownUser(user_id)
    return api_key


def find_user_by_api_key(session: Session, api_key: str) -> UserView | None:
    """The key's owner, in test mode for their test-mode key; None for an unknown key."""
    if not api_key:
        return None
    test = is_test_api_key(api_key)
    column = User.test_api_key_hash if test else User.api_key_hash
    user = session.execute(select(User).where(column == hash_api_key(api_key))).scalar_one_or_none()
    return None if user is None else user_view(user, test_mode=test)


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

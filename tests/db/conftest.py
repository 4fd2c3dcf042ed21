"""Fixtures for the database tests (the `db` fixture itself lives in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bulkgen_pipeline import db as dbm

PRESET_CONFIG = {
    "type": "__RANDOM__",
    "material": "leather",
    "size": "__RANDOM__",
    "generation_count": 5,
}


@dataclass
class Account:
    user_id: str
    api_key: str
    preset_id: str


@pytest.fixture
def make_account(db) -> Callable[..., Account]:
    """Create a user with `credits` and one 'bags' preset."""

    def make(credits: int = 10, name: str = "alice") -> Account:
        with db.session() as s:
            created = dbm.create_user(s, name, credits)
            preset_id = dbm.save_preset(s, created.user_id, "Bags", "bags", PRESET_CONFIG)
        return Account(created.user_id, created.api_key, preset_id)

    return make


@pytest.fixture
def queue(db) -> Callable[..., str]:
    """Queue a bulk run for an Account; returns the run id."""

    def do(account: Account, count: int = 5, run_id: str | None = None) -> str:
        with db.session() as s:
            return dbm.queue_bulk_job(
                s,
                user_id=account.user_id,
                preset_id=account.preset_id,
                category="bags",
                preset_snapshot={"name": "Bags", "category": "bags", "config": PRESET_CONFIG},
                image_count=count,
                run_id=run_id,
            )

    return do


@pytest.fixture
def books_ok(db) -> Callable[[], None]:
    """Assert the credit invariants hold for every user."""

    def check() -> None:
        with db.session() as s:
            assert dbm.credit_invariant_violations(s) == []

    return check

"""Errors raised by the repository functions (all subclass `DatabaseError`)."""

from __future__ import annotations


class DatabaseError(Exception):
    """Base class for bulkgen database errors."""


class UnknownUser(DatabaseError, LookupError):
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        super().__init__(f"Unknown user: {user_id}")


class UnknownPreset(DatabaseError, LookupError):
    def __init__(self, preset_id: str) -> None:
        self.preset_id = preset_id
        super().__init__(f"Unknown preset: {preset_id}")


class UnknownJob(DatabaseError, LookupError):
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"Unknown job: {run_id}")


class JobAlreadyExists(DatabaseError, ValueError):
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"A job with id {run_id} already exists")


class InsufficientCredits(DatabaseError):
    """Not enough available credits (balance minus open reservations). Its message is the one
    wording every surface shows (API detail, console flash, CLI error)."""

    def __init__(self, needed: int, available: int) -> None:
        self.needed = needed
        self.available = available
        super().__init__(f"not enough credits: {needed} needed, {available} available")


class InvalidDatabaseUrl(DatabaseError, ValueError):
    """A database URL that cannot be opened: not a URL, a database SQLAlchemy does not know, or
    one whose driver is not installed. `shown_url` is the URL as it may be printed (see
    `engine.shown_url`), `reason` a sentence saying what is wrong with it."""

    def __init__(self, shown_url: str, reason: str) -> None:
        self.shown_url = shown_url
        self.reason = reason
        super().__init__(f"{shown_url}: {reason}")

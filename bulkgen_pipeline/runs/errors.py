"""What the use cases raise to every adapter alike, in a module light enough for the quick CLI
commands that read through the read model (no SQLAlchemy to load)."""

from __future__ import annotations


class NotFound(LookupError):
    """A user, preset or job that does not exist, or is not the caller's."""

"""Why a start was refused, in the words the API uses, for the console's flash message."""

from __future__ import annotations

from .. import db
from ..domain.errors import InvalidInput
from ..domain.limits import DailyLimitReached
from ..runs.preflight import CannotExecute
from ..runs.queueing import TooManyActiveJobs

# What the merchant can act on (anything else is a server error, handled as such).
REFUSALS = (
    db.InsufficientCredits,
    TooManyActiveJobs,
    DailyLimitReached,
    CannotExecute,
    InvalidInput,
)


def refusal_message(exc: Exception) -> str:
    if isinstance(exc, CannotExecute):
        return exc.reason
    if isinstance(exc, InvalidInput):
        return "; ".join(str(p) for p in exc.problems)
    return str(exc)

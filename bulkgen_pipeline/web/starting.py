"""A start from the console: its caps from the deployment's settings, and the page it leads to
(the run's, with the credits reserved; or back, saying why it was refused in the API's words)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from .. import db
from ..domain.errors import InvalidInput
from ..domain.limits import DailyLimitReached
from ..runs.preflight import CannotExecute
from ..runs.queueing import Started, TooManyActiveJobs
from .pages import Visitor, redirect

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


def start_caps(who: Visitor) -> dict[str, Any]:
    """start_run's caps for this deployment (active jobs, private webhook addresses), and the
    sign-in's mode: a test-mode key's console starts test runs."""
    settings = who.services.settings
    return {
        "max_active_jobs": settings.max_active_jobs_per_user,
        "allow_private_webhooks": settings.webhook_allow_private,
        "test": who.signed_in_user.test_mode,
    }


def show_started(request: Request, who: Visitor, started: Started, what: str = "Run") -> Response:
    charged = (
        "test mode, no credits reserved"
        if who.signed_in_user.test_mode
        else f"{started.estimated_credits} credits reserved"
    )
    who.session.set_flash("ok", f"{what} started: {charged}.", started.job_id)
    return redirect(request, who, f"/runs/{started.job_id}")


def show_refused(
    request: Request,
    who: Visitor,
    exc: Exception,
    back: str,
    why: str = "The run did not start",
) -> Response:
    who.session.set_flash("error", f"{why}: {refusal_message(exc)}")
    return redirect(request, who, back)

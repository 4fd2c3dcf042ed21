"""What every console page shares: the templates, the visitor (session + signed-in user), CSRF
checks on forms, the not-found page, and the security headers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.datastructures import FormData

from .. import db
from ..api.deps import Services, services
from ..api.errors import DATABASE_UNAVAILABLE
from ..domain.statuses import RETRYABLE_JOB_STATUSES, ItemStatus, JobStatus
from ..runs.console_sessions import signed_in_user
from ..runs.queueing import NotFound
from ..runs.test_mode import require_same_mode
from .run_view import TILE_STATES
from .sessions import CSRF_FIELD, ConsoleSession, SessionCookies

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_ROUTE = "/static/console"
# Only our own files: no inline script, no other origin, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def _when(value: datetime | str | None) -> Markup | str:
    """A moment as `<time>`, which the stylesheet keeps on one line."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return Markup('<time datetime="{}">{}</time>').format(
        value.isoformat(), value.strftime("%Y-%m-%d %H:%M UTC")
    )


def _thousands(value: int) -> str:
    return f"{value:,}".replace(",", " ") if value < 10**12 else f"{value:.2e}"


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else f"−{-value}" if value < 0 else "0"


def _short_id(value: str) -> str:
    """Enough of a UUID to tell a merchant's presets or runs apart at a glance."""
    return value[:8]


templates.env.filters["when"] = _when
templates.env.filters["thousands"] = _thousands
templates.env.filters["short_id"] = _short_id
# How a job status looks: console.css styles the tones, not the statuses, so a status added
# to JobStatus shows (as neutral) without a change here or in the stylesheet.
STATUS_TONES: dict[str, str] = {
    JobStatus.QUEUED: "busy",
    JobStatus.PROCESSING: "busy",
    JobStatus.CANCELLING: "warn",
    JobStatus.COMPLETED: "ok",
    JobStatus.PARTIAL: "warn",
    JobStatus.FAILED: "bad",
    JobStatus.CANCELLED: "muted",
}
NEUTRAL_TONE = "neutral"


def _tone(status: str) -> str:
    return STATUS_TONES.get(status, NEUTRAL_TONE)


FINAL = sorted(s.value for s in JobStatus if s.is_final)
# The status sets console.js works with, rendered into the run page as JSON (run.html): the
# script spells no status itself.
CONSOLE_STATUSES: dict[str, Any] = {
    "final": FINAL,
    "retryable": sorted(s.value for s in RETRYABLE_JOB_STATUSES),
    "unresolved": [JobStatus.QUEUED.value],  # its prompts may not be resolved yet
    "tones": {str(status): tone for status, tone in STATUS_TONES.items()},
    "neutral_tone": NEUTRAL_TONE,
    "tiles": TILE_STATES,
    "item_failed": ItemStatus.FAILED.value,
}

templates.env.filters["signed"] = _signed
templates.env.filters["tone"] = _tone
templates.env.globals["static"] = STATIC_ROUTE
templates.env.globals["FINAL"] = FINAL
templates.env.globals["CONSOLE_STATUSES"] = CONSOLE_STATUSES


class SignInRequired(Exception):
    def __init__(self, path: str) -> None:
        self.path = path


class CsrfRefused(Exception):
    """A form arrived without the session's CSRF token."""


def cookies(request: Request) -> SessionCookies:
    return request.app.state.console_cookies


@dataclass
class Visitor:
    """Someone using the console: their session, and the user when signed in."""

    session: ConsoleSession
    user: db.UserView | None
    services: Services

    @property
    def signed_in_user(self) -> db.UserView:
        assert self.user is not None
        return self.user


def visitor(request: Request) -> Visitor:
    session = cookies(request).load(request)
    found = services(request)
    user = None
    if session.sign_in_token is not None:
        user = signed_in_user(found.database, session.sign_in_token)
        if user is None:
            session.forget_sign_in()
    return Visitor(session, user, found)


def merchant(request: Request) -> Visitor:
    """The signed-in visitor; anyone else is sent to the sign-in page."""
    found = visitor(request)
    if found.user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path)
    return found


VisitorDep = Annotated[Visitor, Depends(visitor)]
MerchantDep = Annotated[Visitor, Depends(merchant)]


class OtherModeRun(NotFound):
    """The run a page names is of the other mode than the sign-in's: shown as not found."""


def same_mode_page(request: Request, who: MerchantDep) -> None:
    """A router's dependency: the run in the path (`run_id`) is of the sign-in's mode (a
    test-mode key's test runs, a live key's live runs; runs/test_mode.py)."""
    if request.method == "GET":
        return  # a page reads the run with the mode in its own one query (runs.control)
    raw = request.path_params.get("run_id")
    if raw is not None:
        check_same_mode(who, [str(raw)])


def check_same_mode(who: Visitor, run_ids: list[str]) -> None:
    """OtherModeRun (the not-found page) when one of `run_ids` is the visitor's run of the
    other mode, or is no run id at all."""
    try:
        wanted = [canonical_id(run_id) for run_id in run_ids]
        user = who.signed_in_user
        require_same_mode(who.services.database, user.id, wanted, test=user.test_mode)
    except NotFound as exc:
        raise OtherModeRun(str(exc)) from None


async def checked_form(request: Request, who: Visitor) -> FormData:
    """The posted form, once its CSRF token matches the session's (CsrfRefused otherwise)."""
    form = await request.form()
    token = form.get(CSRF_FIELD)
    if not who.session.csrf_ok(token if isinstance(token, str) else None):
        raise CsrfRefused()
    return form


def render(
    request: Request, who: Visitor, template: str, status_code: int = 200, **context: Any
) -> Response:
    context.setdefault("flash", who.session.pop_flash())
    response = templates.TemplateResponse(
        request,
        template,
        {"user": who.user, "csrf_token": who.session.csrf_token, **context},
        status_code=status_code,
    )
    return cookies(request).save(request, security_headers(response), who.session)


def redirect(request: Request, who: Visitor, url: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    return cookies(request).save(request, response, who.session)


def canonical_id(raw: str) -> str:
    """The run or preset id in a URL, canonical; NotFound for anything that is not a UUID (so a
    hostile path segment never reaches a query)."""
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise NotFound(raw) from None


def not_found(request: Request, who: Visitor) -> Response:
    return render(request, who, "not_found.html", status_code=404)


def unavailable_page(request: Request) -> Response:
    """What a page answers while the database is unreachable; it reads nothing from it, so
    the visitor shows as signed out for the moment."""
    response = templates.TemplateResponse(
        request,
        "unavailable.html",
        {"user": None, "csrf_token": "", "flash": None, "reason": DATABASE_UNAVAILABLE},
        status_code=503,
    )
    return security_headers(response)


def sign_in_url(path: str) -> str:
    return "/signin?next=" + quote(path, safe="/")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/presets"
    return value


def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = response.headers.get("Cache-Control", "no-store")
    return response

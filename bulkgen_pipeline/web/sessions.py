"""The console's session: a signed, HttpOnly, SameSite=Strict cookie that holds the session's
CSRF token, at most one flash message and, once signed in, the token of the server-side sign-in
(runs/console_sessions.py), never the API key nor the user id: signing out ends the sign-in on
the server, so a copy of the cookie is worthless afterwards.

Every visitor gets a session (signed in or not), so the sign-in form is CSRF-protected too;
signing in issues a new CSRF token, so a token seen before sign-in is worthless after it.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..config import Settings
from ..db.console_sessions import SESSION_LIFETIME

COOKIE_NAME = "bulkgen_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_MAX_AGE_SECONDS = int(SESSION_LIFETIME.total_seconds())
SECRET_FILE = "console_secret"
_SALT = "bulkgen-console-session"


def session_secret(settings: Settings) -> str:
    """The deployment's BULKGEN_CONSOLE_SECRET, or else a random one kept in BULKGEN_HOME."""
    if settings.console_secret is not None:
        return settings.console_secret.get_secret_value()
    return _stored_secret(settings.home / SECRET_FILE)


def _stored_secret(path: Path) -> str:
    """The secret in `path`, created (readable by its owner only) the first time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


@dataclass
class Flash:
    kind: str  # "ok" or "error"
    message: str
    job_id: str | None = None


@dataclass
class ConsoleSession:
    csrf_token: str
    sign_in_token: str | None = None  # the server-side sign-in's token, once signed in
    flash: Flash | None = None
    changed: bool = field(default=False, compare=False)

    @staticmethod
    def fresh() -> ConsoleSession:
        return ConsoleSession(secrets.token_urlsafe(32), changed=True)

    def sign_in(self, sign_in_token: str) -> None:
        self.sign_in_token = sign_in_token
        self.csrf_token = secrets.token_urlsafe(32)
        self.changed = True

    def forget_sign_in(self) -> None:
        """The server ended the sign-in (signed out elsewhere, new API key, expired)."""
        self.sign_in_token = None
        self.changed = True

    def set_flash(self, kind: str, message: str, job_id: str | None = None) -> None:
        self.flash = Flash(kind, message, job_id)
        self.changed = True

    def pop_flash(self) -> Flash | None:
        flash, self.flash = self.flash, None
        if flash is not None:
            self.changed = True
        return flash

    def csrf_ok(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token, str(token))

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"t": self.csrf_token, "s": self.sign_in_token}
        if self.flash is not None:
            data["f"] = [self.flash.kind, self.flash.message, self.flash.job_id]
        return data

    @staticmethod
    def from_data(data: Any) -> ConsoleSession | None:
        if not isinstance(data, dict) or not isinstance(data.get("t"), str):
            return None
        sign_in_token = data.get("s") if isinstance(data.get("s"), str) else None
        flash = None
        raw = data.get("f")
        if isinstance(raw, list) and len(raw) == 3:
            flash = Flash(*(str(v) if v is not None else None for v in raw))  # type: ignore[arg-type]
        return ConsoleSession(data["t"], sign_in_token, flash)


class SessionCookies:
    """Reads and writes the session cookie with the deployment's signing secret."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=_SALT)

    def read(self, request: Request) -> ConsoleSession | None:
        raw = request.cookies.get(COOKIE_NAME)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=SESSION_MAX_AGE_SECONDS)
        except BadSignature:
            return None
        return ConsoleSession.from_data(data)

    def load(self, request: Request) -> ConsoleSession:
        return self.read(request) or ConsoleSession.fresh()

    def save(self, request: Request, response: Response, session: ConsoleSession) -> Response:
        if session.changed:
            response.set_cookie(
                COOKIE_NAME,
                self._serializer.dumps(session.to_data()),
                max_age=SESSION_MAX_AGE_SECONDS,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response

    @staticmethod
    def clear(response: Response) -> Response:
        response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="strict")
        return response

"""The console's pages call a few API routes from the browser (the event stream, the status,
the download): with no `Authorization` header, the API accepts the console's session cookie.
A state-changing API call made with the cookie must also carry the session's CSRF token in
`X-CSRF-Token`, or it is refused with 403.

The user is set on the request state, which `api.deps.current_user` honours.
"""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ..runs.console_sessions import signed_in_user
from .sessions import CSRF_HEADER, SessionCookies

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CookieAuthForApi:
    def __init__(self, app: ASGIApp, cookies: SessionCookies) -> None:
        self.app = app
        self.cookies = cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if "authorization" in request.headers:
            await self.app(scope, receive, send)
            return
        session = self.cookies.read(request)
        if session is None or session.sign_in_token is None:
            await self.app(scope, receive, send)
            return
        if request.method not in SAFE_METHODS and not session.csrf_ok(
            request.headers.get(CSRF_HEADER)
        ):
            response = JSONResponse(
                {"detail": f"a request made with the console's session needs {CSRF_HEADER}"},
                status_code=403,
            )
            await response(scope, receive, send)
            return
        database = scope["app"].state.services.database
        user = await anyio.to_thread.run_sync(signed_in_user, database, session.sign_in_token)
        if user is not None:
            scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)

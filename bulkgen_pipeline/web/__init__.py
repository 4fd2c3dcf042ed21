"""The merchants' console: server-rendered pages over the same use cases as the API, served
by the API app at `/` (templates and static files ship in the package; no CDN, no Node).

`install_console(app)` adds it to the API app; web/app.py's `create_app` does that.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from .api_cookie import CookieAuthForApi
from .pages import (
    STATIC_DIR,
    STATIC_ROUTE,
    CsrfRefused,
    OtherModeRun,
    SignInRequired,
    not_found,
    security_headers,
    sign_in_url,
    templates,
    unavailable_page,
    visitor,
)
from .routes_account import router as account_router
from .routes_auth import router as auth_router
from .routes_batch import router as batch_router
from .routes_campaigns import router as campaigns_router
from .routes_models import router as models_router
from .routes_organize import router as organize_router
from .routes_presets import router as presets_router
from .routes_review import router as review_router
from .routes_runs import router as runs_router
from .routes_schedules import router as schedules_router
from .routes_similar import router as similar_router
from .sessions import SessionCookies, session_secret


def install_console(app: FastAPI) -> None:
    cookies = SessionCookies(session_secret(app.state.services.settings))
    app.state.console_cookies = cookies
    for router in (
        auth_router,
        presets_router,
        review_router,
        batch_router,
        organize_router,
        runs_router,
        schedules_router,
        campaigns_router,
        similar_router,
        models_router,
        account_router,
    ):
        app.include_router(router)
    app.mount(STATIC_ROUTE, StaticFiles(directory=STATIC_DIR), name="console-static")
    app.add_middleware(CookieAuthForApi, cookies=cookies)

    @app.exception_handler(SignInRequired)
    async def _sign_in(_: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(sign_in_url(exc.path), status_code=303)

    @app.exception_handler(OtherModeRun)
    async def _other_mode(request: Request, _: OtherModeRun) -> Response:
        return not_found(request, visitor(request))

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        response = templates.TemplateResponse(
            request,
            "refused.html",
            {"user": None, "csrf_token": "", "flash": None},
            status_code=403,
        )
        return security_headers(response)


__all__ = ["install_console", "unavailable_page"]

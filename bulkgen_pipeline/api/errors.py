"""How failures of the use cases become HTTP answers: one body shape (`ErrorBody`), the field
named for bad input, never a stack trace, SQL or secret."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import db
from ..domain.errors import FieldProblem, InvalidInput
from ..domain.limits import DailyLimitReached
from ..domain.statuses import IllegalTransition
from ..runs.campaigns import ItemsNotFound
from ..runs.control import JobConflict
from ..runs.preflight import CannotExecute
from ..runs.previews import PreviewUnavailable
from ..runs.queueing import IdempotencyConflict, NotFound, TooManyActiveJobs
from .models import ErrorBody

log = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "the database is unavailable right now; retry in a few seconds"
# Long enough for a failover or a restart to finish, short enough that clients come back soon.
DATABASE_RETRY_AFTER_SECONDS = 10


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a route documents in the OpenAPI schema (always 401 and 422)."""
    described = {
        401: "Missing or unknown API key",
        402: "Not enough credits (`needed`, `available`)",
        404: "Not found, or not yours",
        409: "Conflicts with the job's state or an earlier Idempotency-Key",
        422: "Invalid input; `problems` names each field",
        429: "Too many active jobs; see Retry-After",
        503: "A dependency is unavailable",
    }
    return {
        code: {"model": ErrorBody, "description": described[code]}
        for code in sorted({401, 422, *codes})
    }


def error(status: int, detail: str, **extra: Any) -> JSONResponse:
    body = {"detail": detail, **{k: v for k, v in extra.items() if v is not None}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def invalid(exc: InvalidInput) -> JSONResponse:
    """422 naming every field at fault (the first 50; `more_problems` counts the rest)."""
    return error(422, "invalid request", **exc.report())


def database_unavailable() -> JSONResponse:
    response = error(503, DATABASE_UNAVAILABLE)
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


class DatabaseOutage:
    """A request that finds the database unreachable is answered 503 with Retry-After, from
    wherever it was raised (a handler, a dependency, a middleware reading the session's user):
    the API in its error shape, and, given `page`, every other path (the console) with that
    page. The pool reconnects by itself, so the app serves again once the database is back.

    A middleware rather than an exception handler: Starlette re-raises what reaches its last
    resort handler, which would log a traceback per request for as long as the outage lasts."""

    def __init__(self, app: ASGIApp, page: Callable[[Request], Response] | None = None) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:
            if started or not db.is_unreachable(exc):
                raise
            reason = str(getattr(exc, "orig", None) or exc).strip().split("\n", 1)[0]
            log.warning("database unreachable on %s %s: %s", scope["method"], scope["path"], reason)
            response: Response
            if scope["path"].startswith("/api/") or self.page is None:
                response = database_unavailable()
            else:
                response = self.page(Request(scope))
                response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
            await response(scope, receive, send)


def allowed_methods(request: Request) -> list[str]:
    """Every method the request's path takes. Starlette's 405 names only those of the first
    route matching the path, and each method of a path is a route of its own here."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE:
            methods.update(route.methods or ())
    return sorted(methods)


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "(body)"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            FieldProblem(_location(tuple(e.get("loc", ()))), e["msg"]) for e in exc.errors()
        ]
        return invalid(InvalidInput(problems))

    @app.exception_handler(InvalidInput)
    async def _domain_validation(_: Request, exc: InvalidInput) -> JSONResponse:
        return invalid(exc)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return error(404, str(exc))

    @app.exception_handler(ItemsNotFound)
    async def _items_not_found(_: Request, exc: ItemsNotFound) -> JSONResponse:
        return error(404, str(exc), problems=[p.to_dict() for p in exc.problems])

    @app.exception_handler(db.InsufficientCredits)
    async def _credits(_: Request, exc: db.InsufficientCredits) -> JSONResponse:
        return error(
            402,
            str(exc),
            needed=exc.needed,
            available=exc.available,
        )

    @app.exception_handler(PreviewUnavailable)
    async def _preview_gone(_: Request, exc: PreviewUnavailable) -> JSONResponse:
        return error(409, str(exc))

    @app.exception_handler(DailyLimitReached)
    async def _daily_limit(_: Request, exc: DailyLimitReached) -> JSONResponse:
        response = error(
            429,
            str(exc),
            limit=exc.day.limit,
            images_today=exc.day.used,
            resets_at=exc.day.resets_at.isoformat(),
        )
        wait = math.ceil((exc.day.resets_at - datetime.now(UTC)).total_seconds())
        response.headers["Retry-After"] = str(max(1, wait))
        return response

    @app.exception_handler(TooManyActiveJobs)
    async def _too_many(_: Request, exc: TooManyActiveJobs) -> JSONResponse:
        response = error(429, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(IdempotencyConflict)
    async def _idempotency(_: Request, exc: IdempotencyConflict) -> JSONResponse:
        return error(409, str(exc))

    @app.exception_handler(JobConflict)
    async def _conflict(_: Request, exc: JobConflict) -> JSONResponse:
        return error(409, str(exc))

    @app.exception_handler(db.NothingToRetry)
    async def _nothing_to_retry(_: Request, exc: db.NothingToRetry) -> JSONResponse:
        return error(409, str(exc))

    @app.exception_handler(IllegalTransition)
    async def _illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
        return error(409, str(exc))

    @app.exception_handler(CannotExecute)
    async def _cannot_execute(_: Request, exc: CannotExecute) -> JSONResponse:
        return error(422, exc.reason, problems=[{"field": exc.field, "message": exc.reason}])

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error(exc.status_code, str(exc.detail))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The trace goes to the server log only; the client learns nothing of the internals.
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error(500, "internal error; the server log has the details")

"""The bulkgen HTTP API: `create_app()` builds it (uvicorn --factory, `bulkgen api`, tests).

Handlers are thin: they read the request, call a use case in `runs/`, and shape the answer.
The app also runs the webhook sender while it is up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from .. import db
from ..config import Settings
from ..storage import open_object_store
from ..web import install_console, unavailable_page
from . import errors
from .deps import Services
from .limits import RequestBodyLimit
from .routes_account import router as account_router
from .routes_presets import router as presets_router
from .routes_runs import router as runs_router

DESCRIPTION = """\
Queue bulk image runs from your presets, watch them, and download the results.

Authenticate every call with `Authorization: Bearer <your API key>`. Errors have one shape,
`{"detail": …, "problems": [{"field": …, "message": …}]}`; request bodies over 1 MiB are refused.
"""


def create_app(settings: Settings | None = None, *, webhooks: bool = True) -> FastAPI:
    """The app over the deployment `settings` describe (default: the environment). With
    `webhooks`, it also sends the webhook deliveries that are due while it runs."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sender = None
        if webhooks:
            from ..webhooks.delivery import WebhookSender

            sender = WebhookSender(database, allow_private=settings.webhook_allow_private)
            sender.start()
        try:
            yield
        finally:
            if sender is not None:
                sender.stop()

    app = FastAPI(
        title="bulkgen API",
        version="1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    # Opened here rather than in the lifespan: a test client that skips lifespan events
    # still gets a working app (the database is migrated the first time it is opened).
    database = db.shared_database(settings.database_url)
    app.state.services = Services(settings, database, open_object_store(settings.storage_url))
    errors.install(app)
    app.add_middleware(RequestBodyLimit)
    for router in (runs_router, presets_router, account_router):
        app.include_router(router)
    install_console(app)  # the merchants' console at / (bulkgen_pipeline/web)
    # Added last, so it is outside every other middleware (one reads the session's user).
    app.add_middleware(errors.DatabaseOutage, page=unavailable_page)
    return app

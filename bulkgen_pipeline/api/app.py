"""The bulkgen HTTP API: `create_api()` builds it; web/app.py's `create_app()` adds the
merchants' console to it, and that is what uvicorn serves (`bulkgen api`, `bulkgen dev`, tests).

Handlers are thin: they read the request, call a use case in `runs/`, and shape the answer.
The app also runs the webhook sender while it is up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from .. import db
from ..config import Settings
from ..storage import open_object_store
from . import errors
from .deps import Services
from .limits import RequestBodyLimit, document_body_limit
from .routes_account import router as account_router
from .routes_campaigns import router as campaigns_router
from .routes_models import router as models_router
from .routes_organize import router as organize_router
from .routes_pictures import router as pictures_router
from .routes_presets import router as presets_router
from .routes_runs import router as runs_router
from .routes_schedules import router as schedules_router
from .routes_templates import router as templates_router

DESCRIPTION = """\
Queue bulk image runs from your presets, watch them, and download the results.

Authenticate every call with `Authorization: Bearer <your API key>`. Errors have one shape,
`{"detail": …, "problems": [{"field": …, "message": …}]}`; request bodies over 1 MiB are refused.
"""


def create_api(
    settings: Settings | None = None,
    *,
    webhooks: bool = True,
    extend: Callable[[FastAPI], None] | None = None,
    outage_page: Callable[[Request], Response] | None = None,
) -> FastAPI:
    """The app over the deployment `settings` describe (default: the environment). With
    `webhooks`, it also sends the webhook deliveries that are due while it runs.

    `extend` adds routes and middleware before the database-outage guard goes around them all,
    which answers paths outside the API with `outage_page`: that is how web/app.py adds the
    console, which is built on the API, without the API importing it."""
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
    for router in (
        runs_router,
        pictures_router,
        organize_router,
        templates_router,
        schedules_router,
        campaigns_router,
        presets_router,
        models_router,
        account_router,
    ):
        app.include_router(router)
    document_body_limit(app)
    if extend is not None:
        extend(app)  # the merchants' console at / (web/app.py)
    # Added last, so it is outside every other middleware (one reads the session's user).
    app.add_middleware(errors.DatabaseOutage, page=outage_page)
    return app

"""The app uvicorn serves (`bulkgen api`, `bulkgen dev`): the HTTP API with the merchants'
console at `/`.

Put together here, above both: the console is built on the API (it uses the API's services,
its error wording and the API URLs its pages poll), so the API builds itself without knowing
of the console (`api.app.create_api`) and this module adds the console to it.
"""

from __future__ import annotations

from fastapi import FastAPI

from ..api.app import create_api
from ..config import Settings
from . import install_console, unavailable_page


def create_app(settings: Settings | None = None, *, webhooks: bool = True) -> FastAPI:
    """The API and the console over the deployment `settings` describe (default: the
    environment). With `webhooks`, it also sends the webhook deliveries that are due."""
    return create_api(
        settings, webhooks=webhooks, extend=install_console, outage_page=unavailable_page
    )

"""The console (the API's deployment fixture: in this process, or served by uvicorn on 127.0.0.1
for the tests in headless Chromium) and merchants signed in to it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ..api.conftest import ApiDeployment, deployment, served
from ..conftest import premigrated

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class SignedIn:
    """A merchant signed in to the console: the client carries the session cookie."""

    user_id: str
    api_key: str
    client: httpx.Client
    csrf_token: str


def sign_in(console: ApiDeployment, credits: int = 50, name: str = "Shop") -> SignedIn:
    merchant = console.merchant(credits=credits, name=name)
    client = console.client()  # no Authorization header: the cookie is all it has
    token = CSRF.search(client.get("/signin").text).group(1)
    answer = client.post("/signin", data={"api_key": merchant.api_key, "csrf_token": token})
    assert answer.status_code == 303, answer.text
    token = CSRF.search(client.get("/account").text).group(1)  # a new token once signed in
    return SignedIn(merchant.user_id, merchant.api_key, client, token)


@pytest.fixture
def console(
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
):
    """The API app with its console, on SQLite and on PostgreSQL."""
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    url = premigrated(request, database_url)
    with deployment(
        tmp_path, url, served=served(request), BULKGEN_MAX_ACTIVE_JOBS_PER_USER="100"
    ) as deployed:
        yield deployed


@pytest.fixture
def sqlite_console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest):
    """The console on SQLite only, for tests about HTTP behaviour rather than the database."""
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    url = premigrated(request, f"sqlite:///{tmp_path / 'bulkgen.db'}")
    with deployment(tmp_path, url, served=served(request)) as deployed:
        yield deployed

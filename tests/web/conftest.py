"""The console served for real (uvicorn on 127.0.0.1, the API's deployment fixture) and
merchants signed in to it, over HTTP with httpx or in headless Chromium."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from ..api.conftest import ApiDeployment, deployment

CHROMIUM = "/usr/bin/chromium"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


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
def console(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch):
    """The API app with its console, on SQLite and on PostgreSQL."""
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    with deployment(tmp_path, database_url, BULKGEN_MAX_ACTIVE_JOBS_PER_USER="100") as deployed:
        yield deployed


@pytest.fixture
def sqlite_console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The console on SQLite only, for tests about HTTP behaviour rather than the database."""
    monkeypatch.setenv("BULKGEN_PROVIDERS", "local")
    with deployment(tmp_path, f"sqlite:///{tmp_path / 'bulkgen.db'}") as deployed:
        yield deployed


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()

"""A console session lives on the server: signing out ends it there, so a cookie saved before
reads nothing afterwards; a new API key ends every session of its merchant; and the cookies are
signed with the secret of the settings the app was made with."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bulkgen_pipeline.web.app import create_app
from bulkgen_pipeline.web.sessions import COOKIE_NAME, SECRET_FILE

from ..api.conftest import make_settings, serve
from ..cli_support import bulkgen
from .conftest import CSRF, sign_in


def with_cookie(client: httpx.Client, cookie: str) -> httpx.Client:
    """A new `client` given nothing but `cookie`, as an attacker who copied it would be."""
    client.cookies.set(COOKIE_NAME, cookie)
    return client


def signed_out_everywhere(client: httpx.Client) -> bool:
    me = client.get("/api/me")
    account = client.get("/account")
    return me.status_code == 401 and account.headers.get("location") == "/signin?next=/account"


def test_a_cookie_saved_before_sign_out_reads_nothing_after_it(console):
    shop = sign_in(console)
    phone = sign_in_again(console, shop.api_key)  # the same merchant in a second browser
    saved = shop.client.cookies[COOKIE_NAME]
    token = CSRF.search(shop.client.get("/account").text).group(1)
    assert shop.client.post("/signout", data={"csrf_token": token}).status_code == 303

    with with_cookie(console.client(), saved) as copied:
        assert signed_out_everywhere(copied)
        assert copied.get("/api/bulk-generation/runs").status_code == 401
    # Only that session ended: the merchant's other browser is still signed in.
    assert phone.get("/api/me").json()["user_id"] == shop.user_id
    assert phone.get("/account").status_code == 200


def sign_in_again(console, api_key: str) -> httpx.Client:
    client = console.client()
    token = CSRF.search(client.get("/signin").text).group(1)
    assert client.post("/signin", data={"api_key": api_key, "csrf_token": token}).is_redirect
    return client


def test_a_new_api_key_ends_the_merchants_sessions_and_the_old_key(console):
    shop = sign_in(console)
    other = sign_in(console, name="Other shop")
    env = {
        "BULKGEN_HOME": str(console.settings.home),
        "BULKGEN_DATABASE_URL": console.settings.database_url,
    }
    code, rotated = bulkgen("users", "rotate-api-key", "--user", shop.user_id, env=env)
    assert code == 0 and rotated["user_id"] == shop.user_id
    new_key = rotated["api_key"]
    assert new_key.startswith("bgk_") and new_key != shop.api_key

    assert signed_out_everywhere(shop.client)
    assert console.client(shop.api_key).get("/api/me").status_code == 401
    assert console.client(new_key).get("/api/me").json()["user_id"] == shop.user_id
    assert sign_in_again(console, new_key).get("/account").status_code == 200
    assert other.client.get("/api/me").json()["user_id"] == other.user_id  # untouched

    code, refused = bulkgen("users", "rotate-api-key", "--user", "nobody", env=env)
    assert code == 1 and refused == {"error": "user 'nobody' does not exist"}


def test_the_console_signs_with_the_secret_of_the_settings_it_was_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Two processes over one database, each given the same secret in its Settings (not in
    the environment): a cookie from one is good on the other, and neither keeps a secret of
    its own in its BULKGEN_HOME."""
    monkeypatch.delenv("BULKGEN_CONSOLE_SECRET", raising=False)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    first, second = (
        make_settings(tmp_path / name, url, BULKGEN_CONSOLE_SECRET="one secret for both")
        for name in ("first", "second")
    )
    assert "one secret for both" not in repr(first)
    with (
        serve(create_app(first, webhooks=False)) as one,
        serve(create_app(second, webhooks=False)) as two,
    ):
        from bulkgen_pipeline import db

        with db.shared_database(url).session() as session:
            created = db.create_user(session, "Shop", 5)
        client = httpx.Client(base_url=one, timeout=30)
        token = CSRF.search(client.get("/signin").text).group(1)
        client.post("/signin", data={"api_key": created.api_key, "csrf_token": token})
        saved = client.cookies[COOKIE_NAME]
        with with_cookie(httpx.Client(base_url=two, timeout=30), saved) as elsewhere:
            assert elsewhere.get("/api/me").json()["user_id"] == created.user_id
        client.close()
    assert not (first.home / SECRET_FILE).exists() and not (second.home / SECRET_FILE).exists()


def test_a_sign_in_ends_after_its_lifetime_and_is_swept_by_a_later_one(db):
    """The server, not only the cookie's signature, decides when a session expires."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from bulkgen_pipeline import db as dbm
    from bulkgen_pipeline.db.console_sessions import (
        SESSION_LIFETIME,
        console_session_user,
        start_console_session,
    )

    start = datetime(2030, 1, 1, tzinfo=UTC)
    with db.session() as session:
        user_id = dbm.create_user(session, "Shop", 1).user_id
        token = start_console_session(session, user_id, now=start)
    with db.session() as session:
        almost = start + SESSION_LIFETIME - SESSION_LIFETIME / 100
        assert console_session_user(session, token, now=almost).id == user_id
        assert console_session_user(session, token, now=start + SESSION_LIFETIME) is None
        assert console_session_user(session, token + "x", now=start) is None
        later = start_console_session(session, user_id, now=start + SESSION_LIFETIME)
        rows = session.execute(sa.text("SELECT token_hash FROM console_sessions")).scalars().all()
    assert len(rows) == 1 and token not in rows and later not in rows  # only hashes are kept

"""The console's session and CSRF rules, and that a merchant never sees another's data, through
the app's HTTP interface."""

from __future__ import annotations

from bulkgen_pipeline import db
from bulkgen_pipeline.runs.presets import create_preset
from bulkgen_pipeline.runs.queueing import start_run
from bulkgen_pipeline.web.sessions import COOKIE_NAME

from .conftest import CSRF, sign_in


def test_sign_in_gives_a_signed_strict_httponly_cookie_that_never_holds_the_key(sqlite_console):
    merchant = sqlite_console.merchant(credits=5)
    client = sqlite_console.client()
    assert client.get("/presets").headers["location"] == "/signin?next=/presets"
    token = CSRF.search(client.get("/signin").text).group(1)
    answer = client.post(
        "/signin",
        data={"api_key": merchant.api_key, "csrf_token": token, "next": "/account"},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/account"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert merchant.api_key not in cookie and merchant.api_key not in answer.headers["location"]
    page = client.get("/account")
    assert page.status_code == 200 and merchant.api_key not in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    # Signing out ends the session: the pages send the visitor back to sign in.
    token = CSRF.search(page.text).group(1)
    assert client.post("/signout", data={"csrf_token": token}).status_code == 303
    assert client.get("/account").headers["location"] == "/signin?next=/account"


def test_a_wrong_key_and_a_foreign_redirect_are_refused(sqlite_console):
    sqlite_console.merchant(credits=5)
    client = sqlite_console.client()
    token = CSRF.search(client.get("/signin").text).group(1)
    refused = client.post("/signin", data={"api_key": "bgk_nope", "csrf_token": token})
    assert refused.status_code == 401 and "Unknown API key" in refused.text
    assert client.get("/presets").status_code == 303  # still signed out
    merchant = sqlite_console.merchant(credits=5, name="Other")
    answer = client.post(
        "/signin",
        data={"api_key": merchant.api_key, "csrf_token": token, "next": "//evil.example/x"},
    )
    assert answer.headers["location"] == "/presets"


def test_a_form_without_the_sessions_token_is_refused_and_changes_nothing(sqlite_console):
    shop = sign_in(sqlite_console)
    other = sign_in(sqlite_console, name="Other shop")
    form = {
        "category": "bags",
        "name": "Forged",
        "generation_count": "3",
        "color_strategy": "cycling",
        "sampling": "unique",
        "dimension_mode": "exact",
        "width": "1024",
        "height": "1024",
    }
    assert shop.client.post("/presets/new", data=form).status_code == 403
    # Another session's token is no better than none.
    forged = shop.client.post("/presets/new", data={**form, "csrf_token": other.csrf_token})
    assert forged.status_code == 403 and "Form refused" in forged.text
    with sqlite_console.database.session() as session:
        assert db.list_presets(session, shop.user_id) == []
    # Signing out is a form too: without the token the session stays.
    assert shop.client.post("/signout").status_code == 403
    assert shop.client.get("/account").status_code == 200
    accepted = shop.client.post("/presets/new", data={**form, "csrf_token": shop.csrf_token})
    assert accepted.status_code == 303
    with sqlite_console.database.session() as session:
        assert [p.name for p in db.list_presets(session, shop.user_id)] == ["Forged"]


def test_the_api_accepts_the_cookie_and_wants_the_csrf_header_to_change_anything(sqlite_console):
    shop = sign_in(sqlite_console)
    job_id = start(sqlite_console, shop.user_id)
    status_url = f"/api/bulk-generation/jobs/{job_id}/status"
    status = shop.client.get(status_url)
    assert status.status_code == 200 and status.json()["status"] == "queued"
    cancel = f"/api/bulk-generation/jobs/{job_id}/cancel"
    refused = shop.client.post(cancel)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    assert shop.client.post(cancel, headers={"X-CSRF-Token": "guess"}).status_code == 403
    assert shop.client.get(status_url).json()["status"] == "queued"
    done = shop.client.post(cancel, headers={"X-CSRF-Token": shop.csrf_token})
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    # Neither cookie nor key: the API still wants a key.
    assert sqlite_console.client().get(status_url).status_code == 401


def start(console, user_id: str, name: str = "Bags", count: int = 2) -> str:
    data = {"name": name, "category": "bags", "config": {"generation_count": count}}
    preset_id = create_preset(console.database, user_id, data)
    return start_run(
        console.database,
        user_id=user_id,
        preset_id=preset_id,
        max_active_jobs=1000,
        allow_private_webhooks=True,
    ).job_id


def test_a_merchant_never_sees_another_merchants_presets_runs_or_images(console):
    owner = sign_in(console, name="Owner shop")
    job_id = start(console, owner.user_id, name="Secret Satchels", count=2)
    assert console.run_queued() == [job_id]
    stranger = sign_in(console, name="Stranger shop")
    with console.database.session() as session:
        [preset] = db.list_presets(session, owner.user_id)
    for page in ("/presets", "/runs", "/account"):
        text = stranger.client.get(page).text
        assert "Secret Satchels" not in text and job_id not in text, page
        assert owner.user_id not in text, page
    assert "Secret Satchels" in owner.client.get("/presets").text
    assert job_id in owner.client.get("/runs").text
    for path in (
        f"/runs/{job_id}",
        f"/runs/{job_id}/images/1.png",
        f"/presets/{preset.id}/edit",
    ):
        answer = stranger.client.get(path)
        assert answer.status_code == 404 and "Not found" in answer.text, path
        assert "Secret Satchels" not in answer.text
        assert owner.client.get(path).status_code == 200, path
    started = stranger.client.post(
        f"/presets/{preset.id}/start", data={"csrf_token": stranger.csrf_token}
    )
    assert started.status_code == 404
    for api_path in (
        f"/api/bulk-generation/jobs/{job_id}/status",
        f"/api/bulk-generation/jobs/{job_id}/events",
        f"/api/bulk-generation/download/{owner.user_id}/{job_id}",
    ):
        assert stranger.client.get(api_path).status_code == 404, api_path
    with console.database.session() as session:
        assert db.get_job(session, job_id).status == "completed"
        assert db.list_user_jobs(session, stranger.user_id).jobs == []

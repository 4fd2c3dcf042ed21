"""Test-mode keys (issue 18): a run started with a merchant's `bgk_test_…` key goes through the
same validation, queue, pipeline, webhooks and outputs, always on the preview renderer, charges
nothing, is marked test everywhere and is left out of the analytics by default; each key sees
only its own mode's runs."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from bulkgen_pipeline import db
from bulkgen_pipeline.analytics import dataset
from bulkgen_pipeline.db.models import WebhookDelivery
from bulkgen_pipeline.db.users import TEST_API_KEY_PREFIX
from bulkgen_pipeline.domain.layout import ZIP_SUMMARY_NAME, RunLayout
from bulkgen_pipeline.providers.router import ImageRouter
from bulkgen_pipeline.resources.images import ImageGenerationResource
from bulkgen_pipeline.sensors.queue import TEST_TAG
from tests.cli_support import bulkgen

from .conftest import Merchant


class PaidProviderOnly(ImageGenerationResource):
    """A deployment whose providers are all paid ones: any call to them fails the test."""

    def get_router(self) -> ImageRouter:
        raise AssertionError("a test-mode run reached the deployment's providers")


def keys_of(api) -> tuple[Merchant, Merchant]:
    """The merchant through their live key and through their test-mode key."""
    with api.database.session() as session:
        created = db.create_user(session, "Shop", 20)
    assert created.test_api_key.startswith(TEST_API_KEY_PREFIX)
    assert not created.api_key.startswith(TEST_API_KEY_PREFIX)
    live = Merchant(created.user_id, created.api_key, api.client(created.api_key))
    test = Merchant(created.user_id, created.test_api_key, api.client(created.test_api_key))
    return live, test


def _ledger(api, user_id: str) -> list[db.LedgerEntry]:
    with api.database.session(readonly=True) as session:
        return [e for e in db.ledger_entries(session, user_id=user_id) if e.kind != "grant"]


def test_a_test_key_run_uses_the_preview_renderer_charges_nothing_and_is_marked(sqlite_api):
    api = sqlite_api
    live, test = keys_of(api)
    preset_id = live.preset(generation_count=3)
    assert test.client.get("/api/me").json()["test_mode"] is True
    assert live.client.get("/api/me").json()["test_mode"] is False

    started = test.start(preset_id, webhook_url="http://127.0.0.1:9/hook")
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["test"] is True and body["estimated_credits"] == 0
    job_id = body["job_id"]
    me = live.client.get("/api/me").json()["credits"]
    assert (me["balance"], me["reserved"]) == (20, 0)  # nothing reserved

    (request,) = api.tick()
    assert request.tags[TEST_TAG] == "true"  # the Dagster UI filters runs by it
    assert api.run(job_id, PaidProviderOnly())

    status = test.client.get(f"/api/bulk-generation/jobs/{job_id}/status").json()
    assert status["status"] == "completed" and status["test"] is True
    assert status["credits_consumed"] == 0
    assert {item["provider"] for item in status["items"]} == {"local"}
    me = live.client.get("/api/me").json()["credits"]
    assert (me["balance"], me["reserved"], me["available"]) == (20, 0, 20)
    assert _ledger(api, live.user_id) == []  # no reserve, charge or release row
    with api.database.session(readonly=True) as session:
        assert db.credit_invariant_violations(session, live.user_id) == []

    # Every output says test.
    with api.database.session(readonly=True) as session:
        layout = RunLayout.of(db.get_job(session, job_id))
    store = api.store
    for generation in (1, 2, 3):
        metadata = json.loads(store.get_bytes(layout.metadata_key(generation)))
        assert metadata["test"] is True and metadata["provider"] == "local"
    assert json.loads(store.get_bytes(layout.summary_key))["test"] is True
    assert json.loads(store.get_bytes(layout.analytics_key))["test"] is True
    with zipfile.ZipFile(io.BytesIO(store.get_bytes(layout.zip_key))) as archive:
        assert json.loads(archive.read(ZIP_SUMMARY_NAME))["test"] is True

    # Webhooks go out as usual, each payload marked.
    with api.database.session(readonly=True) as session:
        payloads = [
            json.loads(p)
            for p in session.scalars(
                select(WebhookDelivery.payload).where(WebhookDelivery.run_id == job_id)
            )
        ]
    assert payloads and all(p["test"] is True for p in payloads)
    assert "job.completed" in {p["type"] for p in payloads}


def test_a_live_run_is_unmarked_and_charged(sqlite_api):
    api = sqlite_api
    live, _ = keys_of(api)
    job_id = live.start(live.preset(generation_count=2)).json()["job_id"]
    (request,) = api.tick()
    assert TEST_TAG not in request.tags
    assert api.run(job_id)
    status = live.client.get(f"/api/bulk-generation/jobs/{job_id}/status").json()
    assert status["test"] is False and status["credits_consumed"] == 2
    with api.database.session(readonly=True) as session:
        layout = RunLayout.of(db.get_job(session, job_id))
    assert "test" not in json.loads(api.store.get_bytes(layout.summary_key))


def test_each_key_sees_only_its_own_modes_runs(sqlite_api):
    api = sqlite_api
    live, test = keys_of(api)
    preset_id = live.preset(generation_count=1)
    live_id = live.start(preset_id).json()["job_id"]
    test_id = test.start(preset_id).json()["job_id"]

    def listed(merchant: Merchant) -> list[tuple[str, bool]]:
        runs = merchant.client.get("/api/bulk-generation/runs").json()["runs"]
        return [(r["job_id"], r["test"]) for r in runs]

    assert listed(live) == [(live_id, False)]
    assert listed(test) == [(test_id, True)]
    for merchant, other in ((live, test_id), (test, live_id)):
        jobs = f"/api/bulk-generation/jobs/{other}"
        assert merchant.client.get(jobs + "/status").status_code == 404
        # Reads check the mode in their own read of the run: each one is refused too.
        assert merchant.client.get(jobs + "/events").status_code == 404
        assert merchant.client.get(jobs + "/looks").status_code == 404
        download = f"/api/bulk-generation/download/{merchant.user_id}/{other}"
        assert merchant.client.get(download).status_code == 404
        assert merchant.client.post(jobs + "/cancel").status_code == 404
        tags = f"/api/bulk-generation/runs/{other}/tags"
        assert merchant.client.put(tags, json={"tags": ["x"]}).status_code == 404
        deleted = merchant.client.post(
            "/api/bulk-generation/runs/delete", json={"run_ids": [other]}
        )
        assert deleted.status_code == 404
    assert test.client.get(f"/api/bulk-generation/jobs/{test_id}/status").status_code == 200


def test_test_runs_have_their_own_active_cap_and_skip_the_daily_limit(sqlite_api):
    api = sqlite_api
    live, test = keys_of(api)
    preset_id = live.preset(generation_count=5)
    assert live.client.put("/api/me/limits", json={"daily_images": 5}).status_code == 200
    assert live.start(preset_id).status_code == 202  # the day's 5 images are spent
    assert live.start(preset_id).status_code == 429
    cap = api.settings.max_active_jobs_per_user
    for _ in range(cap):
        assert test.start(preset_id).status_code == 202  # free: not a spending limit
    refused = test.start(preset_id)
    assert refused.status_code == 429 and "queued or running" in refused.json()["detail"]


def test_a_test_key_cannot_make_a_schedule(sqlite_api):
    live, test = keys_of(sqlite_api)
    preset_id = live.preset(generation_count=1)
    body = {"preset_id": preset_id, "cron": "0 9 * * *", "timezone": "UTC"}
    refused = test.client.post("/api/schedules", json=body)
    assert refused.status_code == 409 and "live API key" in refused.json()["detail"]


def test_analytics_leave_test_runs_out_unless_asked(sqlite_api):
    api = sqlite_api
    live, test = keys_of(api)
    preset_id = live.preset(generation_count=2)
    live_id = live.start(preset_id).json()["job_id"]
    test_id = test.start(preset_id).json()["job_id"]
    api.tick()
    assert api.run(live_id) and api.run(test_id, PaidProviderOnly())
    store = api.store
    for key in dataset.analytics_keys(store):
        dataset.update_run(store, key)
    table = dataset.refresh_snapshot(store).table
    assert set(table["run_id"].to_pylist()) == {live_id, test_id}
    assert set(dataset.select_facts(table)["run_id"].to_pylist()) == {live_id}
    included = dataset.select_facts(table, include_test=True)
    assert set(included["run_id"].to_pylist()) == {live_id, test_id}


def test_a_retry_of_a_test_run_reserves_nothing(sqlite_api):
    api = sqlite_api
    live, test = keys_of(api)
    job_id = test.start(live.preset(generation_count=2)).json()["job_id"]
    with api.database.session() as session:
        db.fail_job(session, job_id, "provider outage")
    retried = test.client.post(f"/api/bulk-generation/jobs/{job_id}/retry-failed")
    assert retried.status_code == 202 and retried.json()["estimated_credits"] == 0
    me = live.client.get("/api/me").json()["credits"]
    assert (me["balance"], me["reserved"]) == (20, 0)
    assert _ledger(api, live.user_id) == []


@pytest.mark.parametrize("rotate", ["--test", None])
def test_the_cli_prints_both_keys_and_rotates_either(home, rotate):
    code, user = bulkgen("users", "create", "--name", "Shop", "--credits", "5")
    assert code == 0
    assert user["api_key"].startswith("bgk_") and not user["api_key"].startswith("bgk_test_")
    assert user["test_api_key"].startswith("bgk_test_")
    args = ["users", "rotate-api-key", "--user", user["user_id"]] + ([rotate] if rotate else [])
    code, rotated = bulkgen(*args)
    assert code == 0
    field = "test_api_key" if rotate else "api_key"
    assert rotated[field] != user[field] and set(rotated) == {"user_id", field}

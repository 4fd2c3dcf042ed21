"""A bulk run through the real Replicate and Google SDKs (fake servers): balance, no secrets."""

from __future__ import annotations

import io
import zipfile
from collections import Counter

import pytest

from bulkgen_pipeline import db
from bulkgen_pipeline.domain.layout import RunLayout
from bulkgen_pipeline.resources.images import ImageGenerationResource
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.replicate_server import FakeReplicate


@pytest.fixture
def real_providers(monkeypatch):
    with FakeReplicate() as replicate, FakeGemini() as gemini:
        monkeypatch.delenv("BULKGEN_PROVIDERS", raising=False)
        monkeypatch.setenv("REPLICATE_API_TOKEN", replicate.token)
        monkeypatch.setenv("REPLICATE_BASE_URL", replicate.base_url)
        monkeypatch.setenv("GOOGLE_API_KEY", gemini.api_key)
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", gemini.base_url)
        monkeypatch.setenv("BULKGEN_REPLICATE_POLL_SECONDS", "0.01")
        monkeypatch.setenv("BULKGEN_PROVIDER_BACKOFF_BASE_SECONDS", "0.01")
        # Failed images get a second pass, where dead providers are resting: keep rests short.
        monkeypatch.setenv("BULKGEN_BREAKER_REST_SECONDS", "0.2")
        yield replicate, gemini


def test_run_on_both_providers_balances_and_stores_no_secret(local_deployment, real_providers):
    replicate, gemini = real_providers
    d = local_deployment
    user = d.user(credits=10)
    preset = d.preset(user, dimensions={"aspect_ratio": "16:9"})
    run_id = d.queue(user, preset, count=6)

    result = d.materialize(run_id, images=ImageGenerationResource())
    assert result.success
    layout = RunLayout(user, "bags", run_id, preset)
    archive = zipfile.ZipFile(io.BytesIO(d.store.get_bytes(layout.zip_key)))
    import json

    summary = json.loads(archive.read("bulk_generation_summary.json"))
    assert Counter(summary["providers"].values()) == {"replicate": 3, "google": 3}
    assert d.job(run_id)["credits_consumed"] == 6

    secrets = (replicate.token.encode(), gemini.api_key.encode())
    stored = [d.store.get_bytes(key) for key in d.store.list_keys("")]
    stored += [archive.read(name) for name in archive.namelist()]
    event_log = "".join(str(record) for record in d.instance.all_logs(result.run_id)).encode()
    with d.database.session() as session:
        rows = str(db.list_items(session, run_id)) + str(db.job_status_dict(session, run_id))
    for blob in [*stored, event_log, rows.encode()]:
        assert not any(secret in blob for secret in secrets)


def test_all_providers_down_fails_every_generation_with_reasons_and_charges_nothing(
    local_deployment, real_providers
):
    replicate, gemini = real_providers
    replicate.failures.down_status = 503
    gemini.failures.down_status = 503
    d = local_deployment
    user = d.user(credits=10)
    run_id = d.queue(user, d.preset(user, dimensions={"aspect_ratio": "1:1"}), count=3)

    from bulkgen_pipeline.definitions import build_definitions
    from bulkgen_pipeline.jobs.in_process import execute_bulk_run

    definitions = build_definitions(d.resources(ImageGenerationResource()))
    status = execute_bulk_run(
        run_id, definitions=definitions, database=d.database, instance=d.instance
    )
    assert (status["status"], status["error"]) == (
        "failed",
        "No images were generated successfully",
    )
    account = d.balance(user)
    assert (account.credits_balance, account.credits_reserved) == (10, 0)
    with d.database.session() as session:
        items = db.list_items(session, run_id)
    assert [i.status for i in items] == ["failed"] * 3
    assert all("replicate" in i.error and "google" in i.error for i in items)

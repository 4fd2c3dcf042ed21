"""The same bulk run on the production backends: PostgreSQL and S3 (moto's HTTP server)."""

from __future__ import annotations

import io
import json
import urllib.request
import zipfile

import dagster as dg
import pytest

from bulkgen_pipeline import db
from bulkgen_pipeline.domain.layout import RunLayout

from ..conftest import seed_dagster_storage
from .conftest import Deployment, ScriptedImages


@pytest.fixture
def production_deployment(tmp_path, postgres_url, s3_bucket, s3_server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server)
    dagster_dir = seed_dagster_storage(tmp_path / "dagster")
    with dg.instance_for_test(temp_dir=str(dagster_dir)) as instance:
        yield Deployment(postgres_url, s3_bucket, instance)


@pytest.mark.postgres
@pytest.mark.s3
def test_full_run_on_postgres_and_s3(production_deployment, scripted_calls):
    d = production_deployment
    user = d.user(credits=9)
    preset = d.preset(user)
    run_id = d.queue(user, preset, count=4)

    crashed = d.materialize(run_id, images=ScriptedImages(crash_after=1))
    assert not crashed.success
    scripted_calls.clear()
    assert d.materialize(run_id, images=ScriptedImages()).success
    assert len(scripted_calls) == 3  # the image stored in S3 before the crash was reused

    with d.database.session() as session:
        job = db.get_job(session, run_id)
        assert db.credit_invariant_violations(session) == []
        history = db.list_img_history(session, run_id)
    layout = RunLayout(user, "bags", run_id, preset)
    assert job.status == "completed" and job.credits_consumed == 4
    assert job.zip_key == layout.zip_key
    assert len(history) == 4
    account = d.balance(user)
    assert (account.credits_balance, account.credits_reserved) == (5, 0)

    # The ZIP sits in the bucket under the run's folder and downloads through a presigned URL.
    bucket_url = d.storage_url
    assert d.store.location(layout.zip_key).startswith(bucket_url.rstrip("/") + "/")
    with urllib.request.urlopen(job.zip_url, timeout=10) as response:
        archive = zipfile.ZipFile(io.BytesIO(response.read()))
    assert {f"generation_{i}.png" for i in range(1, 5)} <= set(archive.namelist())
    analytics = json.loads(d.store.get_bytes(layout.analytics_key))
    assert analytics["analytics_version"] == "2.0" and len(analytics["generation_results"]) == 4

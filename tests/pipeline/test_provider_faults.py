"""A bulk run through the assets while Replicate fails: an image whose first pass is spent on
HTTP 500s is made in the second pass, before the run settles; 429s spend no attempt; every
image is charged once and its attempts recorded (real SDK, fake server)."""

from __future__ import annotations

import pytest

from bulkgen_pipeline import db
from bulkgen_pipeline.resources.images import ImageGenerationResource
from tests.fakes._http import Failure
from tests.fakes.replicate_server import FakeReplicate


@pytest.fixture
def faulty_replicate(monkeypatch):
    with FakeReplicate() as replicate:
        monkeypatch.setenv("BULKGEN_PROVIDERS", "replicate")
        monkeypatch.setenv("REPLICATE_API_TOKEN", replicate.token)
        monkeypatch.setenv("REPLICATE_BASE_URL", replicate.base_url)
        monkeypatch.setenv("BULKGEN_REPLICATE_POLL_SECONDS", "0.01")
        # One image at a time, so the scheduled failures below hit generation 1.
        monkeypatch.setenv("BULKGEN_REPLICATE_CONCURRENCY", "1")
        # Production retry rules (3 attempts); only the waits are shrunk.
        monkeypatch.setenv("BULKGEN_PROVIDER_BACKOFF_BASE_SECONDS", "0.01")
        monkeypatch.setenv("BULKGEN_PROVIDER_BACKOFF_MAX_SECONDS", "0.05")
        monkeypatch.setenv("BULKGEN_PROVIDER_MAX_RETRY_AFTER_SECONDS", "0.01")
        monkeypatch.setenv("BULKGEN_REPLICATE_CREATES_PER_MINUTE", "100000")
        yield replicate


def test_a_run_gives_transiently_failed_images_a_second_pass_before_it_settles(
    local_deployment, faulty_replicate
):
    plan = faulty_replicate.failures
    plan.fail_next(3, 500)  # generation 1 spends its 3 attempts in the first pass
    plan.set_mix([(0.2, Failure(429, retry_after=1))], seed=1)  # and 429s throughout
    d = local_deployment
    user = d.user(credits=100)
    run_id = d.queue(user, d.preset(user, dimensions={"aspect_ratio": "1:1"}), count=12)

    assert d.materialize(run_id, images=ImageGenerationResource()).success

    job = d.job(run_id)
    assert (job["status"], job["completed_images"], job["failed_images"]) == ("completed", 12, 0)
    assert job["credits_consumed"] == 12  # charged once per image, retries are free
    account = d.balance(user)
    assert (account.credits_balance, account.credits_reserved) == (88, 0)
    with d.database.session() as session:
        items = {i.generation_index: i for i in db.list_items(session, run_id)}
    assert {i.status for i in items.values()} == {"succeeded"}
    # Generation 1: three 500s in the first pass, then made in the second.
    assert items[1].attempts >= 4
    # 429s were answered, yet every create is one of some item's recorded attempts.
    assert plan.injected[429] > 0
    assert sum(i.attempts for i in items.values()) == faulty_replicate.counts["create"]

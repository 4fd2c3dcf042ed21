"""Webhook delivery from the outbox, on SQLite and PostgreSQL: a real queued job's event reaches
a receiver that verifies the signature; failures are recorded and retried on schedule; an
address that became private is refused; secrets stay out of every recorded error."""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from bulkgen_pipeline import db as dbm
from bulkgen_pipeline.db.models import User, utcnow
from bulkgen_pipeline.db.webhooks import RETRY_SCHEDULE_S, list_deliveries
from bulkgen_pipeline.runs.webhook_secrets import rotate_webhook_secret
from bulkgen_pipeline.webhooks import policy
from bulkgen_pipeline.webhooks.delivery import deliver_due
from bulkgen_pipeline.webhooks.signing import WebhookVerificationError, verify
from bulkgen_pipeline.webhooks.transport import webhook_client

from .conftest import cancel, queue_job


@pytest.fixture
def client():
    with webhook_client(allow_private=True) as c:
        yield c


def deliveries(database, run_id):
    with database.session(readonly=True) as session:
        return list_deliveries(session, run_id)


def test_a_cancelled_job_is_delivered_signed_with_the_users_secret(db, merchant, receiver, client):
    receiver.secret = merchant.webhook_secret
    run_id = queue_job(db, merchant, receiver.url)
    assert deliver_due(db, allow_private=True, client=client) == 0  # queued: nothing subscribed

    cancel(db, run_id)
    assert deliver_due(db, allow_private=True, client=client) == 1

    [got] = receiver.received
    assert got.problem is None, got.problem
    assert got.path == "/hooks/bulkgen"
    assert got.headers["content-type"] == "application/json"
    assert got.payload["type"] == "job.cancelled"
    assert got.payload["data"]["job_id"] == run_id
    assert got.payload["data"]["status"] == "cancelled"
    [delivery] = deliveries(db, run_id)
    assert got.headers["webhook-id"] == delivery.webhook_id
    assert got.body == delivery.payload.encode()  # the exact bytes that were signed
    assert delivery.status == "delivered" and delivery.attempts == 1
    [attempt] = delivery.attempt_log
    assert attempt.status_code == 204 and attempt.error is None
    # delivered once: the next pass has nothing to send
    assert deliver_due(db, allow_private=True, client=client) == 0
    assert len(receiver.received) == 1


def test_only_subscribed_events_are_sent(db, merchant, receiver, client):
    run_id = queue_job(db, merchant, receiver.url, events=["completed", "failed"])
    cancel(db, run_id)
    assert deliveries(db, run_id) == []
    assert deliver_due(db, allow_private=True, client=client) == 0
    assert receiver.received == []


def test_a_failed_attempt_is_retried_only_after_its_delay(db, merchant, receiver, client):
    receiver.secret = merchant.webhook_secret
    receiver.answer(500)  # then the default: 204 for a verified delivery
    run_id = queue_job(db, merchant, receiver.url)
    cancel(db, run_id)
    start = utcnow()

    assert deliver_due(db, allow_private=True, client=client, now=start) == 1
    [delivery] = deliveries(db, run_id)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.last_status_code == 500 and "HTTP 500" in delivery.last_error
    assert delivery.next_attempt_at == start + timedelta(seconds=RETRY_SCHEDULE_S[0])

    early = start + timedelta(seconds=RETRY_SCHEDULE_S[0] - 1)
    assert deliver_due(db, allow_private=True, client=client, now=early) == 0
    assert len(receiver.received) == 1

    due = start + timedelta(seconds=RETRY_SCHEDULE_S[0])
    assert deliver_due(db, allow_private=True, client=client, now=due) == 1
    [delivery] = deliveries(db, run_id)
    assert delivery.status == "delivered" and delivery.attempts == 2
    first, second = delivery.attempt_log
    assert (first.status_code, second.status_code) == (500, 204)
    assert second.attempted_at - first.attempted_at == timedelta(seconds=RETRY_SCHEDULE_S[0])
    # The same event both times (one webhook-id, for the receiver to deduplicate), each
    # attempt signed with its own timestamp.
    ids = {r.headers["webhook-id"] for r in receiver.received}
    stamps = [int(r.headers["webhook-timestamp"]) for r in receiver.received]
    assert len(ids) == 1 and stamps[1] - stamps[0] == RETRY_SCHEDULE_S[0]
    assert all(r.problem is None for r in receiver.received)


def test_retries_span_more_than_an_hour_then_stop(db, merchant, receiver, client):
    assert sum(RETRY_SCHEDULE_S) > 3600
    run_id = queue_job(db, merchant, receiver.url)
    cancel(db, run_id)
    receiver.answer(*[503] * (len(RETRY_SCHEDULE_S) + 1))
    when = utcnow()
    for _ in range(len(RETRY_SCHEDULE_S) + 1):
        assert deliver_due(db, allow_private=True, client=client, now=when) == 1
        [delivery] = deliveries(db, run_id)
        when = delivery.next_attempt_at
    assert delivery.status == "failed"
    assert delivery.attempts == len(RETRY_SCHEDULE_S) + 1 == len(receiver.received)
    log = delivery.attempt_log
    assert log[-1].attempted_at - log[0].attempted_at > timedelta(hours=1)
    assert all(a.status_code == 503 for a in log)
    # given up: never sent again
    later = utcnow() + timedelta(days=2)
    assert deliver_due(db, allow_private=True, client=client, now=later) == 0


def test_a_redirect_is_not_followed(db, merchant, receiver, client):
    receiver.secret = merchant.webhook_secret
    receiver.answer(302)
    run_id = queue_job(db, merchant, receiver.url)
    cancel(db, run_id)
    deliver_due(db, allow_private=True, client=client)
    assert [r.path for r in receiver.received] == ["/hooks/bulkgen"]
    [delivery] = deliveries(db, run_id)
    assert delivery.status == "pending" and delivery.last_status_code == 302
    assert "redirects are not followed" in delivery.last_error


def test_a_host_that_now_resolves_to_a_private_address_is_refused(
    db, merchant, receiver, monkeypatch
):
    """Queued while the name was public; by delivery time it points inside the network."""
    answers = {"hooks.shop.example": ["93.184.215.14"]}
    monkeypatch.setattr(
        policy,
        "resolve_addresses",
        lambda host, port: [policy.ipaddress.ip_address(a) for a in answers[host]],
    )
    run_id = queue_job(db, merchant, "https://hooks.shop.example/bulkgen", allow_private=False)
    cancel(db, run_id)
    answers["hooks.shop.example"] = ["10.0.0.5"]
    with webhook_client(allow_private=False) as strict:
        assert deliver_due(db, allow_private=False, client=strict) == 1
    [delivery] = deliveries(db, run_id)
    assert delivery.status == "pending" and delivery.last_status_code is None
    assert delivery.last_error.startswith("refused: webhook_url host 'hooks.shop.example'")
    assert "10.0.0.5" in delivery.last_error
    assert receiver.received == []


def test_a_refused_attempt_when_private_addresses_are_not_allowed(db, merchant, receiver):
    """A job queued while private addresses were allowed, sent after they no longer are."""
    run_id = queue_job(db, merchant, receiver.url)
    cancel(db, run_id)
    with webhook_client(allow_private=False) as strict:
        deliver_due(db, allow_private=False, client=strict)
    [delivery] = deliveries(db, run_id)
    assert delivery.last_error == "refused: webhook_url must use https"
    assert receiver.received == []


def test_secrets_never_appear_in_recorded_errors_or_logs(db, merchant, caplog):
    """Whatever a failure says, the recorded error and the log leave the secret out."""
    secret = merchant.webhook_secret
    key = secret.removeprefix("whsec_")

    def leaky(request: httpx.Request) -> httpx.Response:
        # An error text that echoes the request, signature and secret included.
        raise httpx.ConnectError(
            f"failed {request.headers['webhook-signature']} with {secret} / {key}",
            request=request,
        )

    run_id = queue_job(db, merchant, "http://127.0.0.1:9/never")
    cancel(db, run_id)
    caplog.set_level(logging.DEBUG)
    with httpx.Client(transport=httpx.MockTransport(leaky)) as leaking:
        assert deliver_due(db, allow_private=True, client=leaking) == 1
    [delivery] = deliveries(db, run_id)
    [attempt] = delivery.attempt_log
    assert attempt.error.startswith("could not connect: failed v1,")
    assert "[redacted]" in attempt.error
    for text in (attempt.error, delivery.last_error, caplog.text):
        assert secret not in text and key not in text


def test_a_rotated_secret_signs_the_next_attempt(db, merchant, receiver, client):
    receiver.secret = merchant.webhook_secret
    receiver.answer(500)
    run_id = queue_job(db, merchant, receiver.url)
    cancel(db, run_id)
    start = utcnow()
    deliver_due(db, allow_private=True, client=client, now=start)

    new = rotate_webhook_secret(db, merchant.user_id)
    assert new != merchant.webhook_secret and new.startswith("whsec_")
    receiver.secret = new
    later = start + timedelta(seconds=RETRY_SCHEDULE_S[0])
    assert deliver_due(db, allow_private=True, client=client, now=later) == 1

    first, second = receiver.received
    assert first.problem is None  # signed with the old secret
    assert second.problem is None  # signed with the new one
    with pytest.raises(WebhookVerificationError):
        verify(merchant.webhook_secret, second.headers, second.body)
    [delivery] = deliveries(db, run_id)
    assert delivery.status == "delivered"


def test_rotating_an_unknown_users_secret_is_not_found(db):
    from bulkgen_pipeline.runs.queueing import NotFound

    with pytest.raises(NotFound, match="does not exist"):
        rotate_webhook_secret(db, "00000000-0000-0000-0000-000000000000")


def test_a_user_without_a_secret_gets_a_clear_error_not_an_unsigned_post(
    db, merchant, receiver, client
):
    """Users created before webhooks existed have no secret until it is rotated."""
    with db.session() as session:
        session.execute(update(User).values(webhook_secret=None))
    run_id = queue_job(db, merchant, receiver.url)
    cancel(db, run_id)
    deliver_due(db, allow_private=True, client=client)
    assert receiver.received == []
    [delivery] = deliveries(db, run_id)
    assert "rotate-webhook-secret" in delivery.last_error and delivery.status == "pending"


def test_item_and_failure_events_arrive_in_order_for_their_subscribers(
    db, merchant, receiver, client
):
    receiver.secret = merchant.webhook_secret
    run_id = queue_job(db, merchant, receiver.url, events=["item", "failed"])
    with db.session() as session:
        dbm.mark_job_processing(session, run_id, None)
        dbm.record_item(session, run_id, 0, status="succeeded", provider="local", attempts=1)
        dbm.record_item(session, run_id, 1, status="failed", error="refused", attempts=3)
    with db.session() as session:
        dbm.fail_job(session, run_id, "the provider refused every image")
    assert deliver_due(db, allow_private=True, client=client) == 3
    assert [p["type"] for p in receiver.verified] == ["item.succeeded", "item.failed", "job.failed"]
    succeeded, failed, job_failed = receiver.verified
    assert succeeded["data"]["generation_index"] == 0
    assert failed["data"]["error"] == "refused"
    assert job_failed["data"]["error"] == "the provider refused every image"
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 3


def test_an_idle_pass_does_not_wait_for_the_sqlite_write_lock(tmp_path, client):
    """The API polls every second; with nothing due it must not queue behind (or hold up) the
    pipeline's writes on SQLite's single write lock."""
    import sqlite3
    import threading

    database = dbm.Database(f"sqlite:///{tmp_path / 'idle.db'}")
    database.upgrade()
    writer = sqlite3.connect(tmp_path / "idle.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a long pipeline transaction holds the write lock
    result: list[int] = []
    polling = threading.Thread(
        target=lambda: result.append(deliver_due(database, allow_private=True, client=client))
    )
    try:
        polling.start()
        polling.join(5)
        assert result == [0], "an idle pass waited for the write lock"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        polling.join()
        database.dispose()

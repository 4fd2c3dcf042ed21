"""The background sender the API runs: it delivers on its own, survives a failing pass, and
stops promptly."""

from __future__ import annotations

import time

from bulkgen_pipeline.webhooks import delivery
from bulkgen_pipeline.webhooks.delivery import WebhookSender

from .conftest import cancel, queue_job


def wait_for(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_the_sender_delivers_in_the_background_and_stops_promptly(db, merchant, receiver):
    receiver.secret = merchant.webhook_secret
    sender = WebhookSender(db, allow_private=True, interval_s=0.05)
    sender.start()
    try:
        assert sender.running
        run_id = queue_job(db, merchant, receiver.url)
        cancel(db, run_id)
        assert wait_for(lambda: len(receiver.verified) == 1)
        assert receiver.verified[0]["data"]["job_id"] == run_id
    finally:
        began = time.monotonic()
        sender.stop()
        stopped_in = time.monotonic() - began
    assert not sender.running and stopped_in < 1.0

    # Stopped means stopped: a new event waits for the next sender.
    cancel(db, queue_job(db, merchant, receiver.url))
    time.sleep(0.3)
    assert len(receiver.received) == 1


def test_a_failing_pass_does_not_end_the_sender(db, merchant, receiver, monkeypatch, caplog):
    real = delivery.deliver_due
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("database unavailable: password=hunter2")
        return real(*args, **kwargs)

    monkeypatch.setattr(delivery, "deliver_due", flaky)
    receiver.secret = merchant.webhook_secret
    cancel(db, queue_job(db, merchant, receiver.url))
    sender = WebhookSender(db, allow_private=True, interval_s=0.05)
    sender.start()
    try:
        assert wait_for(lambda: len(receiver.verified) == 1)
    finally:
        sender.stop()
    assert calls["n"] >= 2
    assert "webhook sender pass failed: RuntimeError" in caplog.text
    assert "hunter2" not in caplog.text  # only the kind of error is logged

"""`schedule.skipped` goes out like every other delivery: from the outbox, signed with the
merchant's secret, to the schedule's webhook, although it belongs to no run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bulkgen_pipeline.config import Settings
from bulkgen_pipeline.db.models import Schedule
from bulkgen_pipeline.runs.queueing import Webhook
from bulkgen_pipeline.runs.schedules import create_schedule, start_due
from bulkgen_pipeline.webhooks.delivery import deliver_due
from bulkgen_pipeline.webhooks.transport import webhook_client


def test_a_skipped_time_reaches_the_schedule_s_webhook_signed(db, merchant, receiver):
    receiver.secret = merchant.webhook_secret
    settings = Settings.from_env({"BULKGEN_WEBHOOK_ALLOW_PRIVATE": "true"})
    made = create_schedule(
        db,
        merchant.user_id,
        preset_id=merchant.preset_id,
        template_id=None,
        cron="*/5 * * * *",
        timezone="UTC",
        generation_count=50,  # the merchant's 100 credits make two starts
        webhook=Webhook(receiver.url),
        allow_private_webhooks=True,
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    outcomes = []
    for _ in range(3):
        with db.session() as session:  # due (again)
            session.execute(
                update(Schedule).where(Schedule.id == made.id).values(next_run_at=made.next_run_at)
            )
        outcomes.extend(start_due(db, settings=settings))
    assert [o.run_id is not None for o in outcomes] == [True, True, False]
    assert outcomes[2].reason == "not enough credits: 50 needed, 0 available"

    with webhook_client(allow_private=True) as client:  # queued runs have sent nothing yet
        assert deliver_due(db, allow_private=True, client=client) == 1
    [got] = receiver.received
    assert got.problem is None, got.problem  # verified with the merchant's secret
    assert got.payload["type"] == "schedule.skipped"
    assert got.payload["data"] == {
        "schedule_id": made.id,
        "reason": "not enough credits: 50 needed, 0 available",
        "scheduled_for": made.next_run_at.isoformat(),
        "paused": False,
    }

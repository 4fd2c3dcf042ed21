"""Leases and the lease watch: a job whose executor died is resumed, ended or failed, and its
reservation never outlives it; events about the abandoned run change nothing."""

from __future__ import annotations

from datetime import timedelta

from bulkgen_pipeline import db as dbm
from bulkgen_pipeline.db.models import utcnow
from bulkgen_pipeline.runs.leases import LEASE_LOST, recover_stranded


def _processing(db, run_id: str, lease: float = 10.0) -> None:
    with db.session() as s:
        dbm.mark_job_processing(s, run_id, "dagster-run-1", lease_seconds=lease)


def test_only_an_expired_lease_strands_a_job(db, make_account, queue):
    acct = make_account(credits=10)
    run_id = queue(acct, count=3)
    _processing(db, run_id, lease=10)
    now = utcnow()
    with db.session() as s:
        assert dbm.stranded_jobs(s, now + timedelta(seconds=5)) == []
        assert dbm.stranded_jobs(s, now + timedelta(seconds=11)) == [run_id]
        assert dbm.renew_lease(s, run_id, "dagster-run-1", 60)
        assert dbm.stranded_jobs(s, now + timedelta(seconds=11)) == []


def test_a_stranded_job_is_resumed_then_failed_past_the_limit(db, make_account, queue, books_ok):
    acct = make_account(credits=10)
    run_id = queue(acct, count=3)
    later = utcnow() + timedelta(seconds=30)
    for attempt in (1, 2):
        _processing(db, run_id, lease=1)
        outcome = recover_stranded(db, lease_seconds=1, max_resumes=2, now=later)
        assert outcome == {run_id: "queued"}
        with db.session() as s:
            job = dbm.get_job(s, run_id)
            assert (job.resume_count, job.lease_expires_at) == (attempt, None)
            [row] = dbm.queued_jobs(s)
            assert row.run_key == f"{run_id}:resume{attempt}"  # a new Dagster run
        books_ok()
        with db.session() as s:
            assert dbm.get_user(s, acct.user_id).credits_reserved == 3
    _processing(db, run_id, lease=1)
    assert recover_stranded(db, lease_seconds=1, max_resumes=2, now=later) == {run_id: "failed"}
    with db.session() as s:
        job = dbm.get_job(s, run_id)
        assert job.error_message.startswith(LEASE_LOST) and "gave up after 2" in job.error_message
        assert dbm.get_user(s, acct.user_id).credits_reserved == 0
    books_ok()


def test_a_cancelling_job_whose_executor_died_ends_cancelled(db, make_account, queue, books_ok):
    acct = make_account(credits=10)
    run_id = queue(acct, count=4)
    _processing(db, run_id, lease=1)
    with db.session() as s:
        assert dbm.request_cancel(s, run_id) == "cancelling"
    later = utcnow() + timedelta(seconds=30)
    assert recover_stranded(db, lease_seconds=1, max_resumes=3, now=later) == {run_id: "cancelled"}
    with db.session() as s:
        assert dbm.get_user(s, acct.user_id).credits_reserved == 0
    books_ok()


def test_a_late_failure_of_the_abandoned_run_does_not_end_its_resume(db, make_account, queue):
    acct = make_account(credits=10)
    run_id = queue(acct, count=3)
    _processing(db, run_id, lease=1)
    recover_stranded(db, lease_seconds=1, max_resumes=3, now=utcnow() + timedelta(seconds=30))
    with db.session() as s:
        # The first run's failure arrives late, carrying its own run key: ignored.
        assert dbm.fail_job(s, run_id, "worker lost", key=run_id) == "queued"
        # The resumed run's own failure counts.
        assert dbm.fail_job(s, run_id, "boom", key=f"{run_id}:resume1") == "failed"
        assert dbm.get_user(s, acct.user_id).credits_reserved == 0


def test_a_job_claimed_but_never_started_is_stranded_after_the_grace(db, make_account, queue):
    acct = make_account(credits=10)
    run_id = queue(acct, count=2)
    with db.session() as s:
        dbm.mark_job_processing(s, run_id, None)  # claimed by a CLI that died at once
        now = utcnow()
        assert dbm.stranded_jobs(s, now, grace_seconds=60) == []
        assert dbm.stranded_jobs(s, now + timedelta(seconds=61), grace_seconds=60) == [run_id]


def test_every_step_starts_holding_a_fresh_lease_processing_or_cancelling(db, make_account, queue):
    """A step (assets.common.leased) takes the lease when it starts: by its claim for a
    processing job, by the keeper's first renewal for a cancelling one, which the claim leaves
    alone. Steps too short for the keeper to renew then never let the lease run out."""
    from types import SimpleNamespace

    from bulkgen_pipeline.assets.common import leased

    run_id = queue(make_account(credits=10), count=3)
    context = SimpleNamespace(partition_key=run_id, run_id="dagster-run-1")
    database = SimpleNamespace(get_database=lambda: db, lease_seconds=600.0)

    def expires() -> timedelta:
        with db.session() as s:
            return dbm.get_job(s, run_id).lease_expires_at - utcnow()

    def step(context, database):
        return expires()

    held = leased(step)
    assert held(context, database=database) > timedelta(seconds=590)  # queued → processing
    _processing(db, run_id, lease=5)  # as if a long while had passed since
    assert held(context, database=database) > timedelta(seconds=590)
    with db.session() as s:
        assert dbm.request_cancel(s, run_id) == "cancelling"
        dbm.renew_lease(s, run_id, "dagster-run-1", 5)
    assert held(context, database=database) > timedelta(seconds=590)

from __future__ import annotations

import json

import pytest

from bulkgen_pipeline import db as dbm


def _user(db, uid):
    with db.session() as s:
        return dbm.get_user(s, uid)


def test_queue_reserves_credits_and_creates_rows(db, make_account, queue, books_ok):
    acct = make_account(credits=10)
    run_id = queue(acct, count=4)
    u = _user(db, acct.user_id)
    assert (u.credits_balance, u.credits_reserved, u.credits_available) == (10, 4, 6)
    with db.session() as s:
        job = dbm.get_job(s, run_id)
        ledger = [(e.kind, e.amount) for e in dbm.ledger_entries(s, run_id=run_id)]
    assert job.status == "queued" and job.header_status == "pending"
    assert job.job_type == "bulk_generation"
    assert job.total_images == job.estimated_credits == job.requested_count == 4
    assert job.s3_folder_path == f"{acct.user_id}/bulk_runs/bags/{run_id}"
    assert job.preset_snapshot["config"]["material"] == "leather"
    assert ledger == [("reserve", 4)]
    books_ok()


def test_insufficient_credits_has_a_clear_error(db, make_account, queue, books_ok):
    acct = make_account(credits=5)
    queue(acct, count=3)
    with pytest.raises(dbm.InsufficientCredits) as exc:
        queue(acct, count=3)
    assert (exc.value.needed, exc.value.available) == (3, 2)
    assert "3 needed" in str(exc.value) and "2 available" in str(exc.value)
    u = _user(db, acct.user_id)
    assert (u.credits_balance, u.credits_reserved) == (5, 3)
    with db.session() as s:
        assert len(dbm.jobs_after(s, 0)) == 1
    books_ok()


def test_queue_validation(db, make_account, queue):
    a = make_account(credits=10)
    b = make_account(credits=10, name="bob")
    with db.session() as s, pytest.raises(dbm.UnknownUser):
        dbm.queue_bulk_job(
            s,
            user_id="nobody",
            preset_id=None,
            category="bags",
            preset_snapshot={},
            image_count=1,
        )
    with db.session() as s, pytest.raises(dbm.UnknownPreset):
        dbm.queue_bulk_job(
            s,
            user_id=a.user_id,
            preset_id=b.preset_id,
            category="bags",
            preset_snapshot={},
            image_count=1,
        )
    for bad in (0, -1, True, 2.5):
        with pytest.raises(ValueError):
            queue(a, count=bad)
    with pytest.raises(ValueError):
        queue(a, count=1, run_id="../escape")
    run_id = queue(a, count=1, run_id="fixed-run-1")
    assert run_id == "fixed-run-1"
    with pytest.raises(dbm.JobAlreadyExists):
        queue(a, count=1, run_id="fixed-run-1")
    assert _user(db, a.user_id).credits_reserved == 1


def test_queue_without_preset(db, make_account):
    a = make_account(credits=2)
    with db.session() as s:
        run_id = dbm.queue_bulk_job(
            s,
            user_id=a.user_id,
            preset_id=None,
            category="bags",
            preset_snapshot={"prompts": ["a", "b"]},
            image_count=2,
        )
    with db.session() as s:
        assert dbm.get_job(s, run_id).preset_id is None


def test_snapshot_is_the_preset_as_queued(db, make_account, queue):
    acct = make_account()
    run_id = queue(acct, count=1)
    with db.session() as s:
        dbm.update_preset(s, acct.preset_id, config={"material": "canvas"})
    with db.session() as s:
        assert dbm.get_job(s, run_id).preset_snapshot["config"]["material"] == "leather"


def test_jobs_after_cursor_order_and_limit(db, make_account, queue):
    acct = make_account(credits=50)
    run_ids = [queue(acct, count=1) for _ in range(7)]
    with db.session() as s:
        dbm.request_cancel(s, run_ids[2])
        first = dbm.jobs_after(s, 0, limit=3)
        rest = dbm.jobs_after(s, first[-1].seq, limit=100)
        none = dbm.jobs_after(s, rest[-1].seq)
    assert [j.run_id for j in first + rest] == run_ids
    assert len(first) == 3 and none == []
    seqs = [j.seq for j in first + rest]
    assert seqs == sorted(seqs) and len(set(seqs)) == 7
    assert first[2].status == "cancelled"  # every status is returned
    assert {j.category for j in first} == {"bags"} and first[0].user_id == acct.user_id
    assert first[0].preset_id == acct.preset_id and first[0].requested_count == 1


def test_cancel_queued_releases_reservation(db, make_account, queue, books_ok):
    acct = make_account(credits=10)
    run_id = queue(acct, count=6)
    with db.session() as s:
        assert dbm.request_cancel(s, run_id) == "cancelled"
    with db.session() as s:
        assert dbm.request_cancel(s, run_id) == "cancelled"  # idempotent
        assert dbm.is_cancel_requested(s, run_id)
        job = dbm.get_job(s, run_id)
        kinds = [(e.kind, e.amount) for e in dbm.ledger_entries(s, run_id=run_id)]
    assert job.header_status == "cancelled" and job.completed_at is not None
    assert kinds == [("reserve", 6), ("release", 6)]
    u = _user(db, acct.user_id)
    assert (u.credits_balance, u.credits_reserved) == (10, 0)
    books_ok()


def test_cancel_processing_goes_through_cancelling(db, make_account, queue, books_ok):
    acct = make_account(credits=10)
    run_id = queue(acct, count=4)
    with db.session() as s:
        assert not dbm.is_cancel_requested(s, run_id)
        assert dbm.mark_job_processing(s, run_id, "dagster-1") == "processing"
        assert dbm.request_cancel(s, run_id) == "cancelling"
        assert dbm.is_cancel_requested(s, run_id)
    assert _user(db, acct.user_id).credits_reserved == 4
    with db.session() as s:
        assert dbm.mark_job_processing(s, run_id, "dagster-1") == "cancelling"
        assert dbm.mark_cancelled(s, run_id) == "cancelled"
        assert dbm.mark_cancelled(s, run_id) == "cancelled"
    assert _user(db, acct.user_id).credits_reserved == 0
    books_ok()
    with db.session() as s, pytest.raises(dbm.UnknownJob):
        dbm.request_cancel(s, "missing")


def test_mark_processing_transitions(db, make_account, queue):
    acct = make_account(credits=10)
    run_id = queue(acct, count=2)
    with db.session() as s:
        dbm.mark_job_processing(s, run_id, "d1")
        job = dbm.get_job(s, run_id)
    assert (job.status, job.header_status, job.dagster_run_id) == ("processing", "processing", "d1")
    assert job.started_at is not None and job.retry_count == 0
    with db.session() as s:
        dbm.mark_job_processing(s, run_id, "d2")  # re-execution after a crash
        dbm.fail_job(s, run_id, "boom")
        dbm.mark_job_processing(s, run_id, "d3")
        job = dbm.get_job(s, run_id)
    assert job.status == "processing" and job.error_message is None
    assert job.retry_count == 2 and job.dagster_run_id == "d3"


def test_fail_job_releases_once(db, make_account, queue, books_ok):
    acct = make_account(credits=10)
    run_id = queue(acct, count=5)
    with db.session() as s:
        dbm.mark_job_processing(s, run_id, None)
        dbm.record_item(s, run_id, 1, status="succeeded", object_key="k1")
        dbm.record_item(s, run_id, 2, status="failed", error="nsfw")
    for _ in range(3):
        with db.session() as s:
            assert dbm.fail_job(s, run_id, "provider down") == "failed"
    with db.session() as s:
        job = dbm.get_job(s, run_id)
        kinds = [(e.kind, e.amount) for e in dbm.ledger_entries(s, run_id=run_id)]
        items = dbm.list_items(s, run_id)
    assert (job.status, job.header_status, job.error_message) == (
        "failed",
        "failed",
        "provider down",
    )
    assert (job.completed_images, job.failed_images, job.credits_consumed) == (1, 1, 0)
    assert kinds == [("reserve", 5), ("release", 5)]
    assert len(items) == 2  # items kept
    u = _user(db, acct.user_id)
    assert (u.credits_balance, u.credits_reserved) == (10, 0)
    books_ok()


def test_fail_job_while_cancelling_ends_cancelled(db, make_account, queue, books_ok):
    acct = make_account(credits=10)
    run_id = queue(acct, count=5)
    with db.session() as s:
        dbm.mark_job_processing(s, run_id, None)
        dbm.request_cancel(s, run_id)
        assert dbm.fail_job(s, run_id, "terminated") == "cancelled"
    books_ok()


def test_job_status_dict_is_json_ready(db, make_account, queue):
    acct = make_account()
    run_id = queue(acct, count=3)
    with db.session() as s:
        status = dbm.job_status_dict(s, run_id)
        with pytest.raises(dbm.UnknownJob):
            dbm.job_status_dict(s, "missing")
        assert dbm.get_job(s, "missing") is None
    json.dumps(status)
    assert status["job_id"] == run_id and status["status"] == "queued"
    assert (status["total_images"], status["completed_images"], status["failed_images"]) == (
        3,
        0,
        0,
    )
    assert status["credits_consumed"] == 0 and status["download_link"] is None
    assert status["error"] is None and status["created_at"].endswith("+00:00")

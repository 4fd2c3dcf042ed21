from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bulkgen_pipeline import db as dbm

EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


def _images(indices):
    return [
        dbm.SettledImage(
            generation_index=i,
            object_key=f"u/bulk_runs/bags/r/images/generation_{i}.png",
            provider="preview",
            model="preview-1",
            prompt=f"prompt {i}",
        )
        for i in indices
    ]


def _settle(db, run_id, indices, failed):
    with db.session() as s:
        return dbm.settle_run(
            s,
            run_id,
            images=_images(indices),
            failed_count=failed,
            zip_key=f"zip/{run_id}_bulk_generation.zip",
            zip_url="https://example/zip",
            zip_expires_at=EXPIRES,
            download_link=f"/api/bulk-generation/download/u/{run_id}",
        )


def _balance(db, user_id):
    with db.session() as s:
        u = dbm.get_user(s, user_id)
    return u.credits_balance, u.credits_reserved


def test_settle_charges_only_successes(db, make_account, queue, books_ok):
    acct = make_account(credits=10)
    run_id = queue(acct, count=5)
    with db.session() as s:
        dbm.mark_job_processing(s, run_id, "d1")
    result = _settle(db, run_id, [1, 2, 4, 5], failed=1)
    assert result == dbm.SettlementResult(4, 1, False)
    assert _balance(db, acct.user_id) == (6, 0)
    with db.session() as s:
        job = dbm.get_job(s, run_id)
        history = dbm.list_img_history(s, run_id)
        ledger = [(e.kind, e.amount) for e in dbm.ledger_entries(s, run_id=run_id)]
        status = dbm.job_status_dict(s, run_id)
    # Settled with one image lost: delivered, but partial.
    assert (job.status, job.header_status) == ("partial", "partial")
    assert (job.completed_images, job.failed_images, job.credits_consumed) == (4, 1, 4)
    assert job.zip_key == f"zip/{run_id}_bulk_generation.zip"
    assert job.zip_url == "https://example/zip" and job.zip_expires_at == EXPIRES
    assert job.download_link == job.result_url == f"/api/bulk-generation/download/u/{run_id}"
    assert job.completed_at is not None and job.error_message is None
    assert [h.generation_index for h in history] == [1, 2, 4, 5]
    assert all(h.aws_folder_id == run_id and h.user_id == acct.user_id for h in history)
    assert history[0].operation_type == "bulk_generation" and history[0].ai_model == "preview-1"
    assert history[0].provider == "preview" and history[0].prompt == "prompt 1"
    assert ledger == [("reserve", 5), ("charge", 4), ("release", 1)]
    assert status["status"] == "partial" and status["credits_consumed"] == 4
    books_ok()


def test_settle_twice_charges_once(db, make_account, queue, books_ok):
    acct = make_account(credits=10)
    run_id = queue(acct, count=5)
    first = _settle(db, run_id, [1, 2, 3], failed=2)
    second = _settle(db, run_id, [1, 2, 3, 4, 5], failed=0)
    assert first == dbm.SettlementResult(3, 2, False)
    assert second == dbm.SettlementResult(3, 2, True)
    assert _balance(db, acct.user_id) == (7, 0)
    with db.session() as s:
        assert len(dbm.list_img_history(s, run_id)) == 3
        assert dbm.get_job(s, run_id).completed_images == 3
        # fail_job after settlement leaves the settled run alone
        assert dbm.fail_job(s, run_id, "late failure") == "partial"
    assert _balance(db, acct.user_id) == (7, 0)
    books_ok()


def test_fail_then_settle_charges_balance_directly(db, make_account, queue, books_ok):
    acct = make_account(credits=10)
    run_id = queue(acct, count=5)
    other = queue(acct, count=2)  # an unrelated open reservation
    with db.session() as s:
        dbm.mark_job_processing(s, run_id, "d1")
        dbm.fail_job(s, run_id, "crash")
    assert _balance(db, acct.user_id) == (10, 2)
    with db.session() as s:
        assert dbm.mark_job_processing(s, run_id, "d2") == "processing"
    result = _settle(db, run_id, [1, 2, 3, 4], failed=1)
    assert result == dbm.SettlementResult(4, 0, False)
    assert _balance(db, acct.user_id) == (6, 2)
    with db.session() as s:
        ledger = [(e.kind, e.amount) for e in dbm.ledger_entries(s, run_id=run_id)]
        assert dbm.get_job(s, run_id).status == "partial"
        assert dbm.get_job(s, other).status == "queued"
    assert ledger == [("reserve", 5), ("release", 5), ("charge", 4)]
    assert _settle(db, run_id, [1, 2, 3, 4], failed=1).already_settled
    assert _balance(db, acct.user_id) == (6, 2)
    books_ok()


def test_fail_then_settle_without_enough_credits_changes_nothing(db, make_account, queue, books_ok):
    acct = make_account(credits=5)
    run_id = queue(acct, count=5)
    with db.session() as s:
        dbm.fail_job(s, run_id, "crash")
    queue(acct, count=3)  # the freed credits get reserved by another run
    with pytest.raises(dbm.InsufficientCredits) as exc:
        _settle(db, run_id, [1, 2, 3], failed=2)
    assert (exc.value.needed, exc.value.available) == (3, 2)
    assert _balance(db, acct.user_id) == (5, 3)
    with db.session() as s:
        assert dbm.get_job(s, run_id).status == "failed"
        assert dbm.list_img_history(s, run_id) == []
        assert [e.kind for e in dbm.ledger_entries(s, run_id=run_id)] == ["reserve", "release"]
    books_ok()


def test_settle_with_no_images_fails_the_run(db, make_account, queue, books_ok):
    acct = make_account(credits=5)
    run_id = queue(acct, count=5)
    result = _settle(db, run_id, [], failed=5)
    assert result == dbm.SettlementResult(0, 5, False)
    with db.session() as s:
        job = dbm.get_job(s, run_id)
    assert job.status == "failed" and job.error_message == dbm.NO_IMAGES_ERROR
    assert _balance(db, acct.user_id) == (5, 0)
    books_ok()


def test_settle_validates_images(db, make_account, queue):
    acct = make_account(credits=10)
    run_id = queue(acct, count=2)
    with pytest.raises(ValueError):
        _settle(db, run_id, [1, 1], failed=0)
    with pytest.raises(ValueError):
        _settle(db, run_id, [1, 2, 3], failed=0)
    with pytest.raises(dbm.UnknownJob):
        _settle(db, "missing", [1], failed=0)
    assert _balance(db, acct.user_id) == (10, 2)


def test_invariant_over_a_mixed_history(db, make_account, queue, books_ok):
    acct = make_account(credits=30)
    runs = [queue(acct, count=5) for _ in range(5)]
    with db.session() as s:
        dbm.request_cancel(s, runs[0])
        dbm.fail_job(s, runs[1], "x")
    _settle(db, runs[2], [1, 2], failed=3)
    _settle(db, runs[3], [1, 2, 3, 4, 5], failed=0)
    books_ok()
    assert _balance(db, acct.user_id) == (23, 5)
    with db.session() as s:
        dbm.add_credits(s, acct.user_id, 2)
    books_ok()


def test_timestamps_are_utc_aware(db, make_account, queue):
    run_id = queue(make_account(), count=1)
    _settle(db, run_id, [1], failed=0)
    with db.session() as s:
        job = dbm.get_job(s, run_id)
    for ts in (job.created_at, job.completed_at, job.zip_expires_at):
        assert ts.tzinfo is not None and ts.utcoffset() == timedelta(0)

from __future__ import annotations

import threading

import pytest

from bulkgen_pipeline import db as dbm


def test_record_item_upserts_and_keeps_unset_fields(db, make_account, queue):
    run_id = queue(make_account(), count=3)
    with db.session() as s:
        dbm.record_item(s, run_id, 1, status="running", provider="preview", attempts=1)
    with db.session() as s:
        dbm.record_item(s, run_id, 1, status="failed", attempts=2, error="timeout")
    with db.session() as s:
        (item,) = dbm.list_items(s, run_id)
    assert (item.status, item.provider, item.attempts, item.error) == (
        "failed",
        "preview",
        2,
        "timeout",
    )
    with db.session() as s:
        dbm.record_item(
            s, run_id, 1, status="succeeded", model="m1", object_key="k/1.png", latency_ms=120
        )
        (item,) = dbm.list_items(s, run_id)
    assert (item.status, item.provider, item.model, item.attempts) == (
        "succeeded",
        "preview",
        "m1",
        2,
    )
    assert item.error is None and item.object_key == "k/1.png" and item.latency_ms == 120
    with db.session() as s, pytest.raises(ValueError):
        dbm.record_item(s, run_id, 2, status="done")


def test_refresh_progress(db, make_account, queue):
    run_id = queue(make_account(), count=5)
    with db.session() as s:
        for i, status in enumerate(["succeeded", "succeeded", "failed", "running"], start=1):
            dbm.record_item(s, run_id, i, status=status)
        assert dbm.refresh_progress(s, run_id) == (2, 1)
        job = dbm.get_job(s, run_id)
    assert (job.status, job.header_status) == ("processing", "processing")
    assert (job.completed_images, job.failed_images) == (2, 1)
    with db.session() as s, pytest.raises(dbm.UnknownJob):
        dbm.refresh_progress(s, "missing")


def test_concurrent_record_item_from_8_threads(db, make_account, queue):
    """8 threads, each with its own session, write 25 items each, overlapping on indices,
    and refresh progress after every write: no lost updates, no errors."""
    run_id = queue(make_account(credits=50), count=50)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            barrier.wait()
            for i in range(25):
                index = (t * 25 + i) % 50 + 1  # every index written by 4 threads
                with db.session() as s:
                    dbm.record_item(s, run_id, index, status="running", provider=f"p{t}")
                with db.session() as s:
                    dbm.record_item(
                        s,
                        run_id,
                        index,
                        status="succeeded" if index % 5 else "failed",
                        attempts=1,
                        object_key=f"images/generation_{index}.png",
                    )
                    dbm.refresh_progress(s, run_id)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.session() as s:
        items = dbm.list_items(s, run_id)
        final = dbm.refresh_progress(s, run_id)
        job = dbm.get_job(s, run_id)
    assert [i.generation_index for i in items] == list(range(1, 51))
    assert final == (40, 10)
    assert (job.completed_images, job.failed_images) == (40, 10)

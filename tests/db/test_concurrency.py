from __future__ import annotations

import threading

from bulkgen_pipeline import db as dbm


def _race(n_threads, fn):
    barrier = threading.Barrier(n_threads)
    results: list[object] = [None] * n_threads

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(i)
        except BaseException as e:
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_racing_for_the_last_credits_exactly_one_wins(db, make_account, queue, books_ok):
    """Two threads each want 5 of the user's 7 available credits: one run is queued, the
    other gets InsufficientCredits; nothing is over-reserved. Repeated to shake out races."""
    for round_ in range(5):
        acct = make_account(credits=7, name=f"racer{round_}")
        results = _race(2, lambda _i, a=acct: queue(a, count=5))
        winners = [r for r in results if isinstance(r, str)]
        losers = [r for r in results if isinstance(r, dbm.InsufficientCredits)]
        assert len(winners) == 1 and len(losers) == 1, results
        assert (losers[0].needed, losers[0].available) == (5, 2)
        with db.session() as s:
            u = dbm.get_user(s, acct.user_id)
        assert (u.credits_balance, u.credits_reserved) == (7, 5)
    books_ok()


def test_many_threads_never_over_reserve(db, make_account, queue, books_ok):
    acct = make_account(credits=10)
    results = _race(8, lambda _i: queue(acct, count=3))
    assert sum(isinstance(r, str) for r in results) == 3
    assert all(isinstance(r, str | dbm.InsufficientCredits) for r in results), results
    with db.session() as s:
        assert dbm.get_user(s, acct.user_id).credits_reserved == 9
        seqs = [j.seq for j in dbm.jobs_after(s, 0)]
    assert seqs == sorted(seqs) and len(seqs) == 3
    books_ok()


def test_concurrent_settle_and_fail_settle_once(db, make_account, queue, books_ok):
    acct = make_account(credits=10)
    for _ in range(3):
        run_id = queue(acct, count=2)

        def act(i: int, run_id=run_id):
            with db.session() as s:
                if i % 2:
                    return dbm.fail_job(s, run_id, "sensor")
                return dbm.settle_run(
                    s,
                    run_id,
                    images=[dbm.SettledImage(1, "k", "p", "m", "x")],
                    failed_count=1,
                    zip_key="z",
                    zip_url="u",
                    zip_expires_at=dbm.models.utcnow(),
                    download_link="d",
                )

        results = _race(4, act)
        assert not [r for r in results if isinstance(r, BaseException)], results
        books_ok()

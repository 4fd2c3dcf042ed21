"""What each pytest-xdist worker gets to itself: `make test` runs the suite in parallel workers
(gw0, gw1, ...). Temp dirs (tmp_path), ports (bound to 0) and PostgreSQL databases (a random
name per session) are per worker already; Redis databases are numbered, so they are given out
here.

Two Redis databases per worker (gw0: 4 and 5, gw1: 6 and 7, ...) that its tests may flush.
Database 0 is the default broker of a developer's own `bulkgen serve`; 13 and 15 are the
benchmarks'.
"""

from __future__ import annotations

import os

REDIS_TEST_DBS = range(4, 12)
RUN_WORKERS, PRODUCTION_SHAPE = 0, 1  # the slots: tests/pipeline/test_run_workers.py, test_burst.py


def xdist_worker_index() -> int:
    """0 for gw0 or without xdist, 1 for gw1, ..."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(name.removeprefix("gw")) if name.startswith("gw") else 0


def redis_test_db(slot: int) -> int:
    """This worker's Redis database for `slot` (RUN_WORKERS or PRODUCTION_SHAPE)."""
    index = 2 * xdist_worker_index() + slot
    if index >= len(REDIS_TEST_DBS):
        raise RuntimeError(
            f"{index // 2 + 1} xdist workers need more Redis databases than {REDIS_TEST_DBS}"
        )
    return REDIS_TEST_DBS[index]

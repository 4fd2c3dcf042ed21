"""Test mode, the payment providers' convention: a test-mode key (`bgk_test_…`) sees and acts on
its merchant's test runs only, a live key on their live runs only. A run of the other mode is
answered as if it did not exist, like another merchant's.

(What a test run does differently is decided where it happens: no reservation in
db.queue_bulk_job, no charge in db.settle_run, the preview renderer in
resources.images.get_test_router, `"test": true` in runs.packaging's outputs and the webhook
payloads, left out of analytics.dataset.select_facts.)
"""

from __future__ import annotations

from collections.abc import Iterable

from .. import db
from .errors import NotFound


def require_same_mode(
    database: db.Database, user_id: str, run_ids: Iterable[str], *, test: bool
) -> None:
    """NotFound for the first of `run_ids` that is `user_id`'s but of the other mode than
    `test`; runs that are not theirs, or do not exist, are left to the use case to refuse."""
    wanted = list(dict.fromkeys(run_id for run_id in run_ids if run_id))
    if not wanted:
        return
    with database.session(readonly=True) as session:
        other_mode = set(db.runs_of_mode(session, user_id, wanted, test=test))
    for run_id in wanted:  # the first named, as the loop over reads did
        if run_id in other_mode:
            raise NotFound(f"job '{run_id}' does not exist")

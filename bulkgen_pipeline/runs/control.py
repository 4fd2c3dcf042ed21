"""Acting on a job after it was queued: cancel, retry its failed images, delete its files.

Every caller (API, console, CLI) passes the acting user; a job that is not theirs does not
exist for them (NotFound), exactly like one that does not exist at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import db
from ..db.limits import note_low_credits
from ..domain.layout import RunLayout
from ..domain.statuses import FINAL_JOB_STATUSES, JobStatus
from ..storage.base import ObjectStore
from .queueing import NotFound
from .status import job_status


class JobConflict(RuntimeError):
    """The job is not in a state that allows this action (the message says which)."""


@dataclass(frozen=True)
class Retried:
    job_id: str
    status: str
    pass_number: int
    images_to_retry: int
    estimated_credits: int  # reserved: the images at the job's price per image


def owned_job(
    session: Any, user_id: str | None, run_id: str, *, test: bool | None = None
) -> db.JobView:
    """The job, if it exists and (when `user_id` is given) is the user's and (when `test` is
    given) of that mode (runs/test_mode.py: the other mode's runs do not exist for a key). A
    job whose files were deleted is still there: its status, history and ledger stay."""
    job = db.get_job(session, run_id)
    if (
        job is None
        or (user_id is not None and job.user_id != user_id)
        or (test is not None and job.is_test != test)
    ):
        raise NotFound(f"job '{run_id}' does not exist")
    return job


def find_owned_job(
    database: db.Database, user_id: str | None, run_id: str, *, test: bool | None = None
) -> db.JobView:
    """`owned_job` in a read-only transaction of its own."""
    with database.session(readonly=True) as session:
        return owned_job(session, user_id, run_id, test=test)


def owned_job_status(
    database: db.Database, user_id: str | None, run_id: str, *, test: bool | None = None
) -> tuple[db.JobView, dict[str, Any]]:
    """The user's job (of mode `test`, when given) and its status view (runs.status.job_status),
    read together."""
    with database.session(readonly=True) as session:
        job = owned_job(session, user_id, run_id, test=test)
        return job, job_status(db.query_of(session), job)


def cancel_job(database: db.Database, *, user_id: str | None, run_id: str) -> str:
    """queued → cancelled at once; running → cancelling (no new image starts; the run ends
    cancelled with its unused reservation released). Returns the new status."""
    with database.session() as session:
        job = owned_job(session, user_id, run_id)
        if JobStatus(job.status).is_final:
            raise JobConflict(f"the job is already {job.status}")
        return db.request_cancel(session, run_id)


def retry_failed(
    database: db.Database, *, user_id: str | None, run_id: str, claim: bool = False
) -> Retried:
    """Queue a new pass of a partial or failed job for its missing images only, reserving their
    price, the job's credits per image (db.InsufficientCredits if the user lacks them;
    NothingToRetry otherwise).

    `claim` marks the pass processing in the same transaction, for a caller that executes it
    itself (the CLI): it is never seen queued, so the queue sensor never launches it too."""
    with database.session() as session:
        job = owned_job(session, user_id, run_id)
        if job.deleted_at is not None:
            raise JobConflict("the job's files were deleted; start a new run instead")
        pass_number, count, credits = db.requeue_failed(session, run_id)
        note_low_credits(session, job.user_id, run_id)
        status = db.mark_job_processing(session, run_id, None) if claim else JobStatus.QUEUED
    return Retried(run_id, str(status), pass_number, count, credits)


def delete_run(
    database: db.Database, store: ObjectStore, *, user_id: str | None, run_id: str
) -> int:
    """Remove a finished run's files (images, metadata, ZIP, analytics); the job row, its
    history and the credit ledger stay. Returns how many objects were removed: deleting
    again removes what an interrupted deletion left, else nothing."""
    with database.session() as session:
        job = owned_job(session, user_id, run_id)
        if JobStatus(job.status) not in FINAL_JOB_STATUSES:
            raise JobConflict(f"the job is {job.status}; cancel it or wait until it ends")
        db.mark_job_deleted(session, run_id)
    layout = RunLayout.of(job)
    keys = store.list_keys(layout.folder + "/")
    if store.exists(layout.analytics_key):
        keys.append(layout.analytics_key)
    for key in keys:
        store.delete(key)
    return len(keys)

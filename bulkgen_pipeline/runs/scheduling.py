"""Which queued jobs are handed to Dagster's run queue now: per-merchant priority without
overtaking anyone else.

Dagster's run queue orders runs by creation (and a global `dagster/priority`, which would let
one merchant's high-priority run overtake another merchant's earlier one). So a merchant's
backlog waits here instead: at most `per_merchant` of their runs are in Dagster's hands at a
time (queued there or running: the run coordinator's per-merchant limit), and when one of
them ends the next one handed over is their high-priority one, else their oldest. Across
merchants the queue order stays as it was: a merchant's jobs are reordered only among the
places in the queue their own jobs hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Protocol, TypeVar

from .. import db
from ..domain.priority import Priority


class QueuedJob(Protocol):
    @property
    def user_id(self) -> str: ...

    @property
    def priority(self) -> str: ...

    @property
    def run_key(self) -> str: ...


Job = TypeVar("Job", bound=QueuedJob)


def within_merchant_order(queued: Sequence[Job]) -> list[Job]:
    """The queue (oldest first) with each merchant's high-priority jobs moved ahead of their
    own normal ones, into the places their jobs held: nobody else's place changes."""
    places: dict[str, list[int]] = defaultdict(list)
    mine: dict[str, list[Job]] = defaultdict(list)
    for place, job in enumerate(queued):
        places[job.user_id].append(place)
        mine[job.user_id].append(job)
    ordered: list[Job | None] = [None] * len(queued)
    for user_id, jobs in mine.items():
        by_priority = sorted(jobs, key=lambda job: job.priority != Priority.HIGH)  # stable
        for place, job in zip(places[user_id], by_priority, strict=True):
            ordered[place] = job
    return [job for job in ordered if job is not None]


def queued_jobs(
    database: db.Database, limit: int, per_merchant: int | None = None
) -> list[db.JobRow]:
    """The oldest `limit` queued jobs, new runs and retry passes alike, oldest first; with
    `per_merchant`, each merchant's first that many only (their high-priority ones first), so
    that one merchant's backlog (a 200-run campaign) does not hide anyone else's job."""
    with database.session(readonly=True) as session:
        return db.queued_jobs(session, limit=limit, per_merchant=per_merchant)


def jobs_to_hand_over(
    queued: Sequence[Job],
    in_dagster: Mapping[str, Collection[str]],
    per_merchant: int | None,
) -> list[Job]:
    """The queued jobs (oldest first) to request runs for now. `in_dagster` holds each
    merchant's run keys that Dagster has and has not finished; a job already among them is
    asked for again (Dagster keeps one run per key), and a merchant gets new ones only up to
    `per_merchant` in Dagster's hands (None: no limit, every job now)."""
    ordered = within_merchant_order(queued)
    if per_merchant is None:
        return ordered
    room = {user: per_merchant - len(keys) for user, keys in in_dagster.items()}
    chosen = []
    for job in ordered:
        if job.run_key in in_dagster.get(job.user_id, ()):
            chosen.append(job)
        elif room.get(job.user_id, per_merchant) > 0:
            room[job.user_id] = room.get(job.user_id, per_merchant) - 1
            chosen.append(job)
    return chosen

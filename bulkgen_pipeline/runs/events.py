"""A job's event feed: its events after a given one, then the live ones as they are committed,
until its final status (the API serves it as server-sent events, the console reads that).

The feed polls the database; when nothing happens for a while it yields a heartbeat (None), so
that whatever carries the feed can keep its connection alive.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio

from .. import db
from ..domain.statuses import FINAL_JOB_STATUSES, JobStatus
from .control import owned_job

POLL_SECONDS = 0.5
HEARTBEAT_SECONDS = 15.0


def event_feed(
    database: db.Database,
    *,
    user_id: str,
    run_id: str,
    last_event_id: str | None,
    disconnected: Callable[[], Awaitable[bool]],
    test: bool | None = None,
) -> AsyncIterator[db.EventView | None]:
    """The feed of the user's job `run_id` (NotFound at once for anyone else's) after the event
    `last_event_id` (from the start without one), ending when `disconnected()` says so."""
    with database.session(readonly=True) as session:
        owned_job(session, user_id, run_id, test=test)
    after = int(last_event_id) if last_event_id and last_event_id.isdigit() else 0
    return _follow(database, run_id, after, disconnected)


def _fetch(database: db.Database, run_id: str, after: int) -> tuple[list[db.EventView], bool]:
    """The events after `after`, and whether the job had ended before they were read."""
    # The status first: a final status is committed with its event, so every event up to it
    # is then visible to the second query and nothing is missed before closing.
    with database.session(readonly=True) as session:
        job = db.get_job(session, run_id)
        found = db.events_after(session, run_id, after)
    return found, job is None or JobStatus(job.status) in FINAL_JOB_STATUSES


async def _follow(
    database: db.Database,
    run_id: str,
    after: int,
    disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[db.EventView | None]:
    idle = 0.0
    while True:
        try:
            found, final = await anyio.to_thread.run_sync(_fetch, database, run_id, after)
        except Exception as exc:
            # Ending the feed makes an SSE client reconnect with Last-Event-ID (and get 503
            # until the database is back); an aborted one is an error to it.
            if db.is_unreachable(exc):
                return
            raise
        for event in found:
            after = event.id
            yield event
        # Final and nothing left unsent: the last status event was the final one.
        if final and not found:
            return
        if await disconnected():
            return
        await asyncio.sleep(POLL_SECONDS)
        idle = 0.0 if found else idle + POLL_SECONDS
        if idle >= HEARTBEAT_SECONDS:
            idle = 0.0
            yield None

"""`bulkgen runs list`: find jobs by user and status."""

from __future__ import annotations

import click

from .. import db
from ..config import Settings
from ..db.listing import job_ids
from ..statuses import JobStatus
from .common import database, emit, fail, main


@main.group("runs")
def runs_group() -> None:
    """Find bulk runs."""


@runs_group.command("list")
@click.option("--user", "user_id", help="Only this user's runs")
@click.option("--status", type=click.Choice([s.value for s in JobStatus]), help="Only this status")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
def runs_list(user_id: str | None, status: str | None, limit: int) -> None:
    """Runs newest first, each as `bulkgen status` prints it."""
    with database(Settings.from_env()).session(readonly=True) as session:
        if user_id is not None and db.get_user(session, user_id) is None:
            fail(f"user '{user_id}' does not exist")
        ids = job_ids(session, user_id=user_id, status=status, limit=limit)
        emit([db.job_status_dict(session, run_id) for run_id in ids])

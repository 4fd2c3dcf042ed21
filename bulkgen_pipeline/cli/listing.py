"""`bulkgen runs list`: find jobs by user and status."""

from __future__ import annotations

import click

from ..config import Settings
from ..domain.statuses import JobStatus
from .common import emit, fail, main


@main.group("runs")
def runs_group() -> None:
    """Find bulk runs."""


@runs_group.command("list")
@click.option("--user", "user_id", help="Only this user's runs")
@click.option("--status", type=click.Choice([s.value for s in JobStatus]), help="Only this status")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
def runs_list(user_id: str | None, status: str | None, limit: int) -> None:
    """Runs newest first (deleted ones too), each as its summary."""
    from ..readmodel import job_summary
    from ..runs.errors import NotFound
    from ..runs.listing import find_runs
    from ..runs.status import status_query

    with status_query(Settings.from_env().database_url) as query:
        try:
            jobs = find_runs(query, user_id=user_id, status=status, limit=limit)
        except NotFound as exc:
            fail(str(exc))
    emit([job_summary(job) for job in jobs])

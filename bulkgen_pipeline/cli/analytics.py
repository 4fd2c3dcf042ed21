"""`bulkgen analytics export` and `bulkgen analytics report`: the data team's view, no Dagster UI
needed.

Both first bring generation_facts up to date with the runs settled since its last refresh (the
same asset job the daemon's sensor launches, run here in-process on the Dagster instance), so
runs made with `bulkgen run` and no daemon are included. `--no-refresh` skips that step and
reads what the object store holds (for readers without access to the Dagster instance).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ..config import Settings
from . import common
from .common import emit, fail, main

# Below this many run files to read, a progress bar would only flicker.
PROGRESS_FROM = 200
_EXPORT_SUFFIXES = (".parquet", ".csv")


@main.group("analytics")
def analytics() -> None:
    """Cross-run analytics: export generation_facts, build the randomization report."""


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail("invalid --since", problems=[{"field": "--since", "message": _SINCE_HELP}])
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_SINCE_HELP = "must be an ISO date or time such as 2025-06-01 or 2025-06-01T12:00:00+00:00"


def refresh_in_process(settings: Settings, *, with_report: bool) -> dict[str, Any]:
    """Materialize generation_facts (and the report) now, in this process."""
    # Imported here: loading Dagster takes a second `bulkgen analytics --no-refresh` need not pay.
    import dagster as dg

    from ..assets.analytics import FACTS
    from ..definitions import build_definitions, build_resources
    from ..jobs.analytics import ANALYTICS_JOB_NAME
    from ..jobs.in_process import prepare_dagster_home

    prepare_dagster_home(settings)
    definitions = build_definitions(build_resources(settings))
    job = definitions.resolve_job_def(ANALYTICS_JOB_NAME)
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            asset_selection=None if with_report else [FACTS],
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        if not result.success:
            from ..sensors.failures import run_failure_message

            fail(
                "could not refresh the analytics",
                detail=run_failure_message(instance, result.run_id, "refresh failed"),
            )
        return {"dagster_run_id": result.run_id}


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on a terminal once there are many run files; silent otherwise."""
    err = common.err  # rich loads only for a command that draws a progress bar
    if not err.is_terminal:
        yield lambda done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), console=err) as bar:
        task = None

        def update(done: int, total: int) -> None:
            nonlocal task
            if total < PROGRESS_FROM:
                return
            if task is None:
                task = bar.add_task(label, total=total)
            bar.update(task, completed=done)

        yield update


def _facts_table(settings: Settings, refresh: bool):
    from ..analytics import dataset
    from ..storage import open_object_store

    if refresh:
        refresh_in_process(settings, with_report=False)
    store = open_object_store(settings.storage_url)
    with _progress("reading run facts") as progress:
        return store, dataset.refresh_snapshot(store, progress, write=False).table


_INCLUDE_TEST = click.option(
    "--include-test",
    is_flag=True,
    help="Count test-mode keys' runs too (left out by default: preview renderer, no charge)",
)


@analytics.command("export")
@click.option("--out", required=True, help="Where to write: a .parquet or .csv file")
@click.option("--category", help="Only this category (e.g. bags)")
@click.option("--since", help="Only runs settled at or after this ISO date/time")
@click.option(
    "--refresh/--no-refresh",
    default=True,
    show_default=True,
    help="First add the runs settled since the last refresh (needs the Dagster instance)",
)
@_INCLUDE_TEST
def export(
    out: str, category: str | None, since: str | None, refresh: bool, include_test: bool
) -> None:
    """Write generation_facts (one row per run, generation and attribute) to a file."""
    if not out.lower().endswith(_EXPORT_SUFFIXES):
        fail(
            "invalid --out",
            problems=[{"field": "--out", "message": "must end in .parquet or .csv", "got": out}],
        )
    since_time = _since(since)
    from ..analytics import dataset

    settings = Settings.from_env()
    _, table = _facts_table(settings, refresh)
    selected = dataset.select_facts(
        table, category=category, since=since_time, include_test=include_test
    )
    frame = dataset.to_frame(selected)
    Path(out).expanduser().parent.mkdir(parents=True, exist_ok=True)
    dataset.write_export(frame, out)
    emit(
        {
            "out": str(Path(out).resolve()),
            "rows": len(frame),
            "runs": int(frame["run_id"].nunique()) if len(frame) else 0,
            "columns": list(frame.columns),
        }
    )


@analytics.command("report")
@click.option("--out", "out_dir", required=True, help="Folder to write report.html into")
@click.option(
    "--refresh/--no-refresh",
    default=True,
    show_default=True,
    help="First add the runs settled since the last refresh (needs the Dagster instance)",
)
@_INCLUDE_TEST
def report(out_dir: str, refresh: bool, include_test: bool) -> None:
    """Build the randomization report (one self-contained HTML file) into a folder."""
    folder = Path(out_dir).expanduser()
    if folder.exists() and not folder.is_dir():
        fail("invalid --out", problems=[{"field": "--out", "message": "is a file, not a folder"}])
    from ..analytics import dataset
    from ..analytics.html import findings
    from ..analytics.publish import render_report

    settings = Settings.from_env()
    _, table = _facts_table(settings, refresh)
    published = render_report(
        dataset.to_frame(dataset.select_facts(table, include_test=include_test))
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.html"
    path.write_text(published.html, encoding="utf-8")
    result = published.report
    emit(
        {
            "report": str(path.resolve()),
            "runs": result.runs,
            "generations": result.generations,
            "charts": len(published.charts),
            "findings": {text: count for count, text in findings(result)},
        }
    )

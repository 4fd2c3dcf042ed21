"""`bulkgen api`: the HTTP API. `bulkgen worker`: the run slots of production.
`bulkgen dev`: the API, the Dagster UI and the daemon together."""

from __future__ import annotations

import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from ..config import Settings
from ..jobs.location import CODE_LOCATION_NAME, DEFINITIONS_MODULE
from .common import main

if TYPE_CHECKING:
    from .processes import ChildProcesses

API_APP = "bulkgen_pipeline.web.app:create_app"
WORKSPACE_FILE = "bulkgen_workspace.yaml"
# Open event streams (SSE) never end by themselves: past this, uvicorn closes them on shutdown.
API_SHUTDOWN_GRACE_SECONDS = 5
# dagster dev stops its webserver and daemon and finishes its runs' bookkeeping in a few
# seconds; past this, whatever is left is terminated, then killed.
STOP_TIMEOUT_SECONDS = 30.0
# The daemon logs two INFO lines per sensor per tick (a check, then why it skipped): 117
# "skipped" lines in ten idle minutes. At WARNING what is left is what needs an operator; the
# runs launched, and what becomes of them, bulkgen's sensors and runs log themselves.
DAGSTER_LOG_LEVEL = "warning"


@main.command("api")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def api(host: str, port: int) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    uvicorn.run(
        API_APP,
        factory=True,
        host=host,
        port=port,
        timeout_graceful_shutdown=API_SHUTDOWN_GRACE_SECONDS,
    )


@main.command("worker")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 512),
    default=None,
    help="Run slots, one run each (default: BULKGEN_WORKER_CONCURRENCY, 20)",
)
def worker(concurrency: int | None) -> None:
    """Execute the Dagster runs the CeleryRunLauncher queues (deploy/dagster.yaml)."""
    from ..workers.worker import main as worker_main

    worker_main(concurrency)


@main.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface of both servers")
@click.option("--api-port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--dagster-port", "-p", default=3000, show_default=True, type=click.IntRange(1, 65535)
)
def dev(host: str, api_port: int, dagster_port: int) -> None:
    """Start the API, the Dagster UI and the daemon (sensors on) on the configured instance
    (by default the embedded one under BULKGEN_HOME); Ctrl-C or SIGTERM stops all of them."""
    from ..jobs.in_process import prepare_dagster_home
    from .common import database

    settings = Settings.from_env()
    dagster_home = prepare_dagster_home(settings)  # also sets DAGSTER_HOME for the children
    database(settings)  # migrate once here, rather than in three processes at the same time
    workspace = _write_workspace(dagster_home)
    # The children must find the same files whatever directory they resolve paths from.
    env = {**os.environ, "BULKGEN_HOME": str(settings.home)}

    api_url = f"http://{_display_host(host)}:{api_port}"
    dagster_url = f"http://{_display_host(host)}:{dagster_port}"

    def start(children: ChildProcesses) -> dict[str, str]:
        children.start(
            "API",
            [sys.executable, "-m", "bulkgen_pipeline.cli", "api", "--host", host]
            + ["--port", str(api_port)],
            env,
        )
        children.start(
            "Dagster",
            [sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-h", host]
            + ["-p", str(dagster_port), "--log-level", DAGSTER_LOG_LEVEL],
            env,
        )
        click.echo(
            f"bulkgen dev (pid {os.getpid()}), instance {dagster_home}\n"
            f"  Console      {api_url}/\n"
            f"  API          {api_url}\n"
            f"  API docs     {api_url}/docs\n"
            f"  Dagster UI   {dagster_url}\n"
            "Ctrl-C stops everything.",
            err=True,
        )
        return {"API": f"{api_url}/docs", "Dagster UI": f"{dagster_url}/server_info"}

    supervise("bulkgen dev", start)


def supervise(label: str, start: Callable[[ChildProcesses], dict[str, str]]) -> NoReturn:
    """Start children with `start` (which returns name -> URL of those to report up), say when
    each answers, and stop them all on Ctrl-C, SIGTERM or SIGHUP, or once one of them exits
    (whose exit code this command then exits with)."""
    from .processes import ChildProcesses

    stop, force = threading.Event(), threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        (force if stop.is_set() else stop).set()  # a second Ctrl-C: no more waiting

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    children = ChildProcesses()
    exit_code = 0
    try:
        waiting = start(children)
        while not stop.wait(0.5):
            gone = children.exited()
            if gone is not None:
                click.echo(
                    f"{label}: {gone.name} exited with code {gone.process.returncode}; "
                    "stopping the rest",
                    err=True,
                )
                exit_code = gone.process.returncode or 1
                break
            for name, url in list(waiting.items()):
                if _answers(url):
                    del waiting[name]
                    click.echo(f"{label}: {name} is up", err=True)
    finally:
        click.echo(f"{label}: stopping…", err=True)
        children.stop(timeout=STOP_TIMEOUT_SECONDS, force=force)
        click.echo(f"{label}: stopped", err=True)
    raise SystemExit(exit_code)


def _write_workspace(dagster_home: Path) -> Path:
    # Written for the installed package, which need not come with the repository's
    # workspace.yaml; the same code location name, so runs and sensor state are shared.
    path = dagster_home / WORKSPACE_FILE
    text = (
        "# Written by `bulkgen dev`: the definitions module, in a code server Dagster manages.\n"
        "load_from:\n"
        "  - python_module:\n"
        f"      module_name: {DEFINITIONS_MODULE}\n"
        f"      location_name: {CODE_LOCATION_NAME}\n"
    )
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _display_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # it answers, if not with a page
    except OSError:
        return False

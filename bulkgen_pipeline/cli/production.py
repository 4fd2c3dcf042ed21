"""`bulkgen serve`: the production shape on one machine, every process from one command.

A gRPC code server, the Dagster daemon, `bulkgen worker` (the run slots), the HTTP API and, with
`--ui`, the Dagster webserver: each a child in its own process group with the same environment,
stopped together (see servers.supervise). deploy/production.sh runs it with an environment file.
On several machines, start the same commands one per machine instead (README "Beyond one
machine").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import Field

from ..config import EnvSettings, Settings
from ..jobs.location import CODE_LOCATION_NAME, DEFINITIONS_MODULE
from .common import main
from .servers import supervise

if TYPE_CHECKING:
    from .processes import ChildProcesses

WORKSPACE_FILE = "bulkgen_grpc_workspace.yaml"
# Settings this shape cannot do without; each process must see the same values.
REQUIRED = (
    "BULKGEN_HOME",
    "BULKGEN_DATABASE_URL",
    "BULKGEN_STORAGE_URL",
    "BULKGEN_BROKER_URL",
    "DAGSTER_HOME",
    "DAGSTER_PG_HOST",
    "DAGSTER_PG_USER",
    "DAGSTER_PG_PASSWORD",
    "DAGSTER_PG_DB",
)
# DAGSTER_PG_PASSWORD may be empty (trust auth), but dagster.yaml's `env:` needs it set.
MAY_BE_EMPTY = frozenset({"DAGSTER_PG_PASSWORD"})


class ServeSettings(EnvSettings):
    code_server_host: str = Field(default="127.0.0.1", validation_alias="BULKGEN_CODE_SERVER_HOST")
    code_server_port: int = Field(
        default=4000, ge=1, le=65535, validation_alias="BULKGEN_CODE_SERVER_PORT"
    )
    api_host: str = Field(default="127.0.0.1", validation_alias="BULKGEN_API_HOST")
    api_port: int = Field(default=8000, ge=1, le=65535, validation_alias="BULKGEN_API_PORT")
    ui_port: int = Field(default=3000, ge=1, le=65535, validation_alias="BULKGEN_UI_PORT")


def missing_settings(env: dict[str, str]) -> list[str]:
    return [
        name
        for name in REQUIRED
        if name not in env or (env[name] == "" and name not in MAY_BE_EMPTY)
    ]


def grpc_workspace(host: str, port: int) -> str:
    return (
        "# Written by `bulkgen serve`: the webserver and daemon load the code server's code.\n"
        "load_from:\n"
        "  - grpc_server:\n"
        f"      host: {host}\n"
        f"      port: {port}\n"
        f"      location_name: {CODE_LOCATION_NAME}\n"
    )


@main.command("serve")
@click.option("--ui/--no-ui", default=False, help="Also serve the Dagster UI (BULKGEN_UI_PORT)")
def serve(ui: bool) -> None:
    """Start the production shape: code server, daemon, run workers, API (and the UI)."""
    from .common import database, fail

    env = dict(os.environ)
    missing = missing_settings(env)
    if missing:
        fail(
            "bulkgen serve needs these set (see deploy/production.env.example): "
            + ", ".join(missing)
        )
    settings = Settings.from_env()
    serve_settings = ServeSettings.from_env()
    dagster_home = Path(env["DAGSTER_HOME"])
    if not (dagster_home / "dagster.yaml").is_file():
        fail(f"no dagster.yaml in DAGSTER_HOME ({dagster_home}): copy deploy/dagster.yaml there")
    database(settings)  # migrate once here, rather than in every process at the same time
    workspace = dagster_home / WORKSPACE_FILE
    workspace.write_text(
        grpc_workspace(serve_settings.code_server_host, serve_settings.code_server_port)
    )
    python = [sys.executable, "-m"]
    api_url = f"http://{serve_settings.api_host}:{serve_settings.api_port}"

    def start(children: ChildProcesses) -> dict[str, str]:
        children.start(
            "code server",
            [*python, "dagster", "code-server", "start", "-m", DEFINITIONS_MODULE]
            + ["-h", serve_settings.code_server_host, "-p", str(serve_settings.code_server_port)]
            + ["--location-name", CODE_LOCATION_NAME],
            env,
        )
        children.start(
            "daemon", [*python, "bulkgen_pipeline.workers.daemon", "run", "-w", str(workspace)], env
        )
        children.start("worker", [*python, "bulkgen_pipeline.cli", "worker"], env)
        children.start(
            "API",
            [*python, "bulkgen_pipeline.cli", "api", "--host", serve_settings.api_host]
            + ["--port", str(serve_settings.api_port)],
            env,
        )
        waiting = {"API": f"{api_url}/healthz"}
        if ui:
            ui_url = f"http://{serve_settings.api_host}:{serve_settings.ui_port}"
            children.start(
                "Dagster UI",
                [*python, "dagster_webserver", "-w", str(workspace)]
                + ["-h", serve_settings.api_host, "-p", str(serve_settings.ui_port)],
                env,
            )
            waiting["Dagster UI"] = f"{ui_url}/server_info"
        click.echo(
            f"bulkgen serve (pid {os.getpid()}), instance {dagster_home}, API {api_url}", err=True
        )
        return waiting

    supervise("bulkgen serve", start)

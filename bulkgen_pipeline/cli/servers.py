"""`bulkgen dev`: the Dagster UI and daemon on the embedded instance."""

from __future__ import annotations

import os
import subprocess
import sys

import click

from ..config import Settings
from . import main


@main.command("dev", context_settings={"ignore_unknown_options": True})
@click.argument("dagster_args", nargs=-1, type=click.UNPROCESSED)
def dev(dagster_args: tuple[str, ...]) -> None:
    """Start the Dagster UI and daemon (sensors included) on the embedded instance."""
    from ..execution import prepare_dagster_home

    prepare_dagster_home(Settings.from_env())
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "bulkgen_pipeline.definitions",
        *dagster_args,
    ]
    raise SystemExit(subprocess.call(command, env=os.environ.copy()))

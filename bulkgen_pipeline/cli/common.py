"""What every `bulkgen` command shares: JSON output, clean failures, the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from .. import db
from ..config import Settings

err = Console(stderr=True)


def emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def database(settings: Settings) -> db.Database:
    return db.shared_database(settings.database_url)


def fail(message: str, **extra: Any) -> NoReturn:
    emit({"error": message, **extra})
    raise SystemExit(1)


def read_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        fail(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")

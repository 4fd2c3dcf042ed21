"""What every `bulkgen` command shares: JSON output, clean failures, the database."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ..config import Settings, SettingsError
from ..runs.preflight import CannotExecute

if TYPE_CHECKING:
    from .. import db


def __getattr__(name: str) -> Any:
    # `err`, the stderr console for progress bars, is made on first use: importing rich costs
    # quick commands time they do not need to spend.
    if name == "err":
        from rich.console import Console

        globals()["err"] = console = Console(stderr=True)
        return console
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class CommandGroup(click.Group):
    """Every command answers a misconfigured deployment (a malformed setting, no provider able
    to run the request, a database URL it cannot open or a database it cannot connect to) with
    a JSON error naming the setting, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (SettingsError, CannotExecute) as exc:
            fail(str(exc))
        except Exception as exc:
            reason = _connection_failure(exc)
            if reason is None:
                raise
            fail(reason)


def _connection_failure(exc: Exception) -> str | None:
    """What to tell an operator when `exc` is a failure to open the database (a URL that
    cannot be opened, or an error raised before any statement ran), None for anything else.
    The URL is shown without its password or query, where a password may be passed too.

    The db layer is only looked at once something loaded it: quick commands that never do
    (`bulkgen status`) do not pay for importing SQLAlchemy here."""
    db_errors = sys.modules.get("bulkgen_pipeline.db.errors")
    if db_errors is not None and isinstance(exc, db_errors.InvalidDatabaseUrl):
        return _cannot_connect(exc.shown_url, exc.reason)
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None or not isinstance(exc, sa_exc.DBAPIError) or exc.statement is not None:
        return None
    from ..db.engine import shown_url

    driver_message = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    return _cannot_connect(shown_url(Settings.from_env().database_url), driver_message)


def _cannot_connect(shown_url: str, reason: str) -> str:
    return f"cannot connect to the database BULKGEN_DATABASE_URL={shown_url}: {reason}"


def emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def database(settings: Settings) -> db.Database:
    """The db layer, loaded on first use: SQLAlchemy alone takes longer to import than
    `bulkgen status` may take to answer."""
    from .. import db

    return db.shared_database(settings.database_url)


def fail(message: str, **extra: Any) -> NoReturn:
    emit({"error": message, **extra})
    raise SystemExit(1)


def read_json(path: str) -> Any:
    """The JSON document in `path`, by the same rules as an API request body.

    Raises PresetValidationError (one problem) for a file over 1 MiB, invalid UTF-8 or JSON,
    NaN/Infinity, nesting past 32 levels or a NUL character. Reads at most one byte past the
    limit, so a huge file is refused without loading it."""
    from ..domain.json_input import MAX_DOCUMENT_BYTES, check_document_size, load_json_document

    what = f"file {path}"
    with Path(path).open("rb") as file:
        check_document_size(os.fstat(file.fileno()).st_size, what=what)
        raw = file.read(MAX_DOCUMENT_BYTES + 1)
    return load_json_document(raw, what=what)


@click.group(cls=CommandGroup)
def main() -> None:
    """bulkgen: one product preset in, a ZIP of unique AI images out."""

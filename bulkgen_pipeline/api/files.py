"""A ZIP made for one download (an export): written into a folder of its own, answered as a
file, and the folder removed once it is sent, or at once when making it fails."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from ..runs.exports import new_export_folder


def zip_download(make: Callable[[Path], Path], filename: str | None = None) -> FileResponse:
    """`make(folder)` writes the ZIP into `folder` and returns its path; its errors (NotFound,
    InvalidInput…) propagate after the folder is removed."""
    folder = new_export_folder()
    try:
        path = make(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        path,
        media_type="application/zip",
        filename=filename or path.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )

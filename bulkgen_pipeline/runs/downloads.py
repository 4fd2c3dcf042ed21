"""Handing over a run's ZIP: a presigned URL on S3, the file itself from a local folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import db
from ..domain.layout import RunLayout
from ..storage.base import ObjectStore
from .queueing import NotFound

DOWNLOAD_URL_SECONDS = 3600
DOWNLOAD_ROUTE = "/api/bulk-generation/download/{user_id}/{run_id}"


def download_link(user_id: str, run_id: str) -> str:
    """The API route that checks ownership, then redirects to or streams the ZIP."""
    return DOWNLOAD_ROUTE.format(user_id=user_id, run_id=run_id)


@dataclass(frozen=True)
class ZipDownload:
    filename: str
    url: str | None = None  # redirect here (S3: presigned for an hour)
    path: Path | None = None  # or stream this local file


def zip_download(store: ObjectStore, job: db.JobView) -> ZipDownload:
    layout = RunLayout.of(job)
    if job.zip_key is None or job.deleted_at is not None or not store.exists(layout.zip_key):
        raise NotFound(f"job '{job.run_id}' has no ZIP to download")
    filename = layout.zip_key.rsplit("/", 1)[-1]
    path = store.local_path(layout.zip_key)
    if path is not None:
        return ZipDownload(filename, path=path)
    url = store.download_url(layout.zip_key, expires_in=DOWNLOAD_URL_SECONDS, filename=filename)
    return ZipDownload(filename, url=url)

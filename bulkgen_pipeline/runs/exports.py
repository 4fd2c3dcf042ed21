"""Exports: one ZIP of images chosen from any of the merchant's runs, with their metadata."""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .. import db
from ..domain.layout import RunLayout
from ..storage.base import ObjectNotFound, ObjectStore
from .control import find_owned_job
from .errors import NotFound

MAX_EXPORT_IMAGES = 500


@dataclass(frozen=True)
class Chosen:
    run_id: str
    generation_index: int


# What an export of chosen images is called, on disk and as the download.
EXPORT_FILENAME = "bulkgen_export.zip"


def export_images(
    database: db.Database, store: ObjectStore, user_id: str, images: list[Chosen], folder: Path
) -> Path:
    """Write the ZIP into `folder`: `<run_id>/generation_<i>.png` and its metadata JSON for each
    image. NotFound names the first image that is not the merchant's or was never stored."""
    layouts: dict[str, RunLayout] = {}
    path = folder / EXPORT_FILENAME
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for position, chosen in enumerate(images):
            if chosen.run_id not in layouts:
                try:
                    job = find_owned_job(database, user_id, chosen.run_id)
                except NotFound:
                    raise NotFound(
                        f"images.{position}: run '{chosen.run_id}' does not exist"
                    ) from None
                if job.deleted_at is not None:
                    raise NotFound(f"images.{position}: run '{chosen.run_id}' has no files now")
                layouts[chosen.run_id] = RunLayout.of(job)
            layout, index = layouts[chosen.run_id], chosen.generation_index
            try:
                write_image(archive, store, layout, index)
            except ObjectNotFound:
                raise NotFound(
                    f"images.{position}: run '{chosen.run_id}' has no image {index}"
                ) from None
    return path


def write_image(archive: zipfile.ZipFile, store: ObjectStore, layout: RunLayout, index: int) -> str:
    """Image `index` of the run and its metadata into the archive's `<run_id>/` (both read
    before either is written: ObjectNotFound leaves the archive as it was); returns the
    image's name in the archive."""
    image = store.get_bytes(layout.image_key(index))
    metadata = store.get_bytes(layout.metadata_key(index))
    name = f"{layout.run_id}/{layout.image_filename(index)}"
    archive.writestr(name, image)
    archive.writestr(f"{layout.run_id}/{layout.metadata_filename(index)}", metadata)
    return name


def new_export_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="bulkgen-export-"))

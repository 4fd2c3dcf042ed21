"""Settling a generated run: charge the images it made, release the rest of its reservation,
record each image's history and end the job, in one transaction (db.settle_run), with the
ZIP's download link for the job's status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .. import db
from ..domain.layout import RunLayout
from ..domain.specs import GenerationSpec
from ..storage.base import ObjectStore
from .downloads import DOWNLOAD_URL_SECONDS, download_link
from .packaging import GenerationOutcome


def settle(
    database: db.Database,
    store: ObjectStore,
    layout: RunLayout,
    specs: list[GenerationSpec],
    outcomes: list[GenerationOutcome],
) -> db.SettlementResult:
    """Settle the run whose generations ended as `outcomes` (a run settled already is left as
    it was: `already_settled`)."""
    prompts = {spec.generation: spec.prompt for spec in specs}
    images = [
        db.SettledImage(
            generation_index=o.generation,
            object_key=layout.image_key(o.generation),
            provider=o.provider or "unknown",
            model=o.model or "unknown",
            prompt=prompts[o.generation],
        )
        for o in outcomes
        if o.succeeded
    ]
    with database.session() as session:
        return db.settle_run(
            session,
            layout.run_id,
            images=images,
            failed_count=len(outcomes) - len(images),
            zip_key=layout.zip_key,
            zip_url=store.download_url(layout.zip_key, expires_in=DOWNLOAD_URL_SECONDS),
            zip_expires_at=datetime.now(UTC) + timedelta(seconds=DOWNLOAD_URL_SECONDS),
            download_link=download_link(layout.user_id, layout.run_id),
        )

"""Prompts reviewed before paying: a preview resolves a preset's prompts exactly as its run
would, for free (nothing reserved, no job), and keeps them 24 hours; starting from it
(`start_run(preview_id=…, edits=…)`) makes exactly those prompts, edited or removed as the
merchant said, and charges only the generations kept."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .. import db
from ..db.previews import get_preview, save_preview
from ..domain.layout import size_labels
from ..domain.requests import BulkRequest, Reviewed, request_from_snapshot
from ..domain.review import apply_edits, parse_edits
from ..domain.schema import CategorySchema
from ..readmodel.views import utcnow
from .errors import NotFound
from .preflight import check_can_execute

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ..providers.router import ImageRouter

PREVIEW_TTL = timedelta(hours=24)


class PreviewUnavailable(RuntimeError):
    """The preview expired or was started already: make a new one."""


@dataclass(frozen=True)
class Preview:
    preview_id: str
    expires_at: datetime
    request: BulkRequest

    def as_json(self) -> dict[str, Any]:
        assert self.request.reviewed is not None
        return {
            "preview_id": self.preview_id,
            "expires_at": self.expires_at.isoformat(),
            "generations": [
                {
                    "generation_index": spec.generation,
                    "prompt": spec.prompt,
                    "resolved_attributes": {
                        k: v for k, v in spec.config.items() if k not in ("category", "dimensions")
                    },
                    "attribute_resolution": spec.attribute_resolution,
                }
                for spec in self.request.reviewed.generations
            ],
            "resolution": self.request.reviewed.resolution,
            # Each generation is made in every size: what a start without edits makes.
            "sizes": list(size_labels(self.request.sizes)),
            "image_count": self.request.image_count,
        }


def preview_run(
    database: db.Database,
    *,
    user_id: str,
    preset_id: str,
    count: int | None = None,
    schema: CategorySchema | None = None,
    router: ImageRouter | None = None,
) -> Preview:
    """Resolve the preset's prompts as its run would (seeded by the preview id, which the run
    started from it keeps as its run id) and keep them for 24 hours. The same checks as a start
    up to the credits: the preset is the caller's, its category and size can be made, the count
    is 1-50. Nothing is reserved and no job is made."""
    from .queueing import preset_request_for

    preview_id = str(uuid.uuid4())
    now = utcnow()
    with database.session() as session:
        request = preset_request_for(session, user_id, preset_id, count, schema, router)
        result = request.resolve(run_seed=preview_id)
        reviewed = Reviewed(preview_id, tuple(result.generations), result.summary())
        request = request.with_reviewed(reviewed)
        save_preview(
            session,
            preview_id=preview_id,
            user_id=user_id,
            preset_id=preset_id,
            snapshot=request.snapshot(),
            created_at=now,
            expires_at=now + PREVIEW_TTL,
        )
    return Preview(preview_id, now + PREVIEW_TTL, request)


def reviewed_request(
    session: Session,
    user_id: str,
    preview_id: str,
    edits: Any,
    router: ImageRouter | None = None,
) -> tuple[BulkRequest, str | None]:
    """The request a start from `preview_id` makes, and the preset it came from: the preview's
    generations with `edits` applied (InvalidInput naming `edits.N…`). NotFound for another
    merchant's or an unknown preview; PreviewUnavailable when it expired or was started."""
    stored = get_preview(session, preview_id, for_update=True)
    if stored is None or stored.user_id != user_id:
        raise NotFound(f"preview '{preview_id}' does not exist")
    if stored.started_run_id is not None:
        raise PreviewUnavailable(
            f"this preview was started already, as job {stored.started_run_id}; "
            "make a new preview to start again"
        )
    if stored.expires_at <= utcnow():
        raise PreviewUnavailable(
            f"this preview expired at {stored.expires_at.isoformat()}; make a new one"
        )
    previewed = request_from_snapshot(stored.snapshot)
    assert previewed.reviewed is not None
    kept = apply_edits(list(previewed.reviewed.generations), parse_edits(edits))
    request = previewed.with_reviewed(
        Reviewed(preview_id, tuple(kept), previewed.reviewed.resolution)
    )
    check_can_execute(request, router)  # the providers may have changed since
    return request, stored.preset_id


def stored_preview(database: db.Database, user_id: str, preview_id: str) -> Preview:
    """The caller's preview as it was made (NotFound for another merchant's or an unknown one)."""
    with database.session(readonly=True) as session:
        stored = get_preview(session, preview_id)
    if stored is None or stored.user_id != user_id:
        raise NotFound(f"preview '{preview_id}' does not exist")
    return Preview(stored.id, stored.expires_at, request_from_snapshot(stored.snapshot))

"""Request and answer bodies of tagging, bulk delete and export (routes_organize.py)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt

from ..domain.presets import MAX_IMAGES
from ..domain.tags import MAX_TAG_LENGTH, MAX_TAGS, TAG_PATTERN, TAG_RULE
from ..runs.exports import MAX_EXPORT_IMAGES
from ..runs.tags import MAX_BULK_RUNS
from .models import Strict

Tag = Annotated[
    str,
    Field(min_length=1, max_length=MAX_TAG_LENGTH, pattern=TAG_PATTERN),
]


class TagsIn(Strict):
    tags: list[Tag] = Field(max_length=MAX_TAGS, description=TAG_RULE)


class TagsOut(BaseModel):
    job_id: str
    tags: list[str]


class BulkDeleteIn(Strict):
    run_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_BULK_RUNS)


class BulkOutcomeOut(BaseModel):
    job_id: str
    outcome: Literal["deleted", "not_found", "conflict"]
    objects_deleted: int
    detail: str | None


class BulkDeleteOut(BaseModel):
    results: list[BulkOutcomeOut]


class ExportImage(Strict):
    run_id: uuid.UUID
    generation_index: StrictInt = Field(json_schema_extra={"minimum": 1, "maximum": MAX_IMAGES})


class ExportIn(Strict):
    images: list[ExportImage] = Field(min_length=1, max_length=MAX_EXPORT_IMAGES)

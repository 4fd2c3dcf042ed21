"""Prompts reviewed before paying: a preview's resolved generations, the merchant's edits
(a new prompt, or removal) applied, renumbered 1..k for the run that makes exactly them.

Plain Python: the preview's storage and expiry are the use case's (runs/previews.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import FieldProblem, InvalidInput, problems_from_pydantic
from .presets import MAX_GENERATIONS
from .specs import GenerationSpec
from .text import FreeText

# The attribute_resolution key that marks a prompt the merchant rewrote.
USER_EDITED = "user_edited"


class Edit(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    generation_index: int = Field(ge=1, le=MAX_GENERATIONS, strict=True)
    prompt: FreeText | None = Field(default=None, min_length=1, max_length=4000)
    remove: bool = Field(default=False, strict=True)

    @model_validator(mode="after")
    def _one_change(self) -> Edit:
        if self.remove == (self.prompt is not None):
            raise ValueError('give either "prompt" (the new text) or "remove": true')
        return self


def parse_edits(data: Any) -> list[Edit]:
    """The edits as sent (a list, at most one per generation); InvalidInput naming `edits.N…`."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise InvalidInput([FieldProblem("edits", "must be a list of edits")])
    if len(data) > MAX_GENERATIONS:
        raise InvalidInput([FieldProblem("edits", f"at most {MAX_GENERATIONS} edits")])
    edits, problems = [], []
    for position, item in enumerate(data):
        try:
            edits.append(Edit.model_validate(item))
        except ValidationError as exc:
            problems += problems_from_pydantic(exc, prefix=f"edits.{position}")
    seen: set[int] = set()
    for position, edit in enumerate(edits):
        if edit.generation_index in seen:
            problems.append(
                FieldProblem(
                    f"edits.{position}.generation_index",
                    f"generation {edit.generation_index} is edited twice",
                )
            )
        seen.add(edit.generation_index)
    if problems:
        raise InvalidInput(problems)
    return edits


def apply_edits(generations: list[GenerationSpec], edits: list[Edit]) -> list[GenerationSpec]:
    """The generations to make: edited prompts replaced (and recorded as the merchant's),
    removed ones left out, the rest as previewed; renumbered 1..k, each remembering its
    preview index. InvalidInput when an edit names a generation the preview lacks, or when
    nothing would be left."""
    by_index = {spec.generation: spec for spec in generations}
    problems = [
        FieldProblem(
            f"edits.{position}.generation_index",
            f"the preview has generations 1 to {len(generations)}",
        )
        for position, edit in enumerate(edits)
        if edit.generation_index not in by_index
    ]
    if problems:
        raise InvalidInput(problems)
    changes = {edit.generation_index: edit for edit in edits}
    kept: list[GenerationSpec] = []
    for spec in generations:
        edit = changes.get(spec.generation)
        if edit is not None and edit.remove:
            continue
        resolution = dict(spec.attribute_resolution)
        resolution["preview_index"] = spec.generation
        resolution[USER_EDITED] = edit is not None
        if edit is not None and edit.prompt is not None:
            user_specified = {**resolution.get("user_specified", {}), "prompt": edit.prompt}
            resolution["user_specified"] = user_specified
            resolution["total_user_specified_count"] = len(user_specified)
            spec = replace(spec, prompt=edit.prompt)
        kept.append(replace(spec, generation=len(kept) + 1, attribute_resolution=resolution))
    if not kept:
        raise InvalidInput(
            [FieldProblem("edits", "every generation was removed; keep at least one")]
        )
    return kept

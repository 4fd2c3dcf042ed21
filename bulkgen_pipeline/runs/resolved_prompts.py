"""A run's prompts, resolved once and frozen: the request as queued is resolved into one entry
per image (a generation, or a generation in each size when the run asks for several) and
written to resolved_prompts.json, which every later step, every re-execution and the run page
read instead of resolving again. This module is the one that writes and reads that document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..domain.grammar import grammar_problems
from ..domain.layout import RunLayout
from ..domain.requests import PRESET, request_from_snapshot
from ..domain.schema import load_category_schema
from ..domain.specs import GenerationSpec
from ..readmodel import JobView
from ..storage.base import ObjectNotFound, ObjectStore


@dataclass(frozen=True)
class ResolvedPrompts:
    specs: list[GenerationSpec]
    resolution: dict[str, Any]  # seed, random attributes, combination space, notes
    reused: bool = False  # frozen by an earlier attempt of the run, not resolved now

    @property
    def duplicate_prompts(self) -> int:
        # A generation rendered in several sizes repeats its own prompt: counted once.
        prompts = list({spec.prompt_generation: spec.prompt for spec in self.specs}.values())
        return len(prompts) - len(set(prompts))


def freeze_prompts(store: ObjectStore, job: JobView) -> ResolvedPrompts:
    """The job's resolved prompts: resolved from its queued request (seeded by its run id) and
    stored the first time, read back as stored ever after."""
    key = RunLayout.of(job).resolved_prompts_key
    if store.exists(key):
        return _read(store, key, reused=True)
    request = request_from_snapshot(job.preset_snapshot)
    result = request.resolve_images(run_seed=job.run_id)
    document = {
        "kind": request.kind,
        "resolution": result.summary(),
        "generations": [g.to_dict() for g in result.generations],
    }
    store.put_bytes(key, json.dumps(document, indent=2).encode(), "application/json")
    return _read(store, key, reused=False)


def resolved_prompts(store: ObjectStore, layout: RunLayout) -> ResolvedPrompts:
    """The prompts a run froze (ObjectNotFound before it has)."""
    return _read(store, layout.resolved_prompts_key, reused=True)


def resolved_generations(store: ObjectStore, job: JobView) -> dict[int, GenerationSpec]:
    """The job's resolved generations by index; empty until the run has resolved them."""
    try:
        found = resolved_prompts(store, RunLayout.of(job))
    except ObjectNotFound:
        return {}
    return {spec.generation: spec for spec in found.specs}


def grammar_report(job: JobView, specs: list[GenerationSpec]) -> dict[int, list[str]]:
    """The grammar problems of each preset prompt, by generation (a prompt batch's prompts are
    the merchant's own words: not checked)."""
    if job.kind != PRESET:
        return {}
    attributes = list(load_category_schema().attributes(job.category))
    report = {}
    for spec in specs:
        problems = grammar_problems(spec.prompt, spec.config, attributes=attributes)
        if problems:
            report[spec.generation] = problems
    return report


def _read(store: ObjectStore, key: str, *, reused: bool) -> ResolvedPrompts:
    document = json.loads(store.get_bytes(key))
    specs = [GenerationSpec.from_dict(g) for g in document["generations"]]
    return ResolvedPrompts(specs, document["resolution"], reused)

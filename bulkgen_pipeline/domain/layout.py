"""Object-store keys of one run (README "Outputs" shows the layout).

Keyed by run id, never preset id: two runs of one preset must not overwrite each other.
Plain naming, so it sits in domain/: the database (a job's folder), the use cases in runs/,
the assets, analytics and the console all read it (db/ may import domain/, never runs/).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .kinds import PROMPT_BATCH

# Every run's analytics.json: prompt_history/{preset_id or prompt_batch}/{run_id}/analytics.json
ANALYTICS_PREFIX = "prompt_history/"
ANALYTICS_NAME = "analytics.json"


class RunOwner(Protocol):
    """What a layout is made from: a job view (readmodel.JobView) or anything shaped so."""

    @property
    def user_id(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def preset_id(self) -> str | None: ...
    @property
    def size_labels(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class RunLayout:
    user_id: str
    category: str
    run_id: str
    preset_id: str | None
    # The run's sizes when it asked for several (domain.sizes): its images are named by
    # generation and size. Empty or one: named by generation alone.
    sizes: tuple[str, ...] = ()

    @classmethod
    def of(cls, job: RunOwner) -> RunLayout:
        """The layout of a job's run (a job view, or anything with the same five fields)."""
        return cls(job.user_id, job.category, job.run_id, job.preset_id, job.size_labels)

    @classmethod
    def of_summary(cls, summary: Mapping[str, Any]) -> RunLayout:
        """The run-level keys from a job's JSON summary (readmodel.job_summary: the run id is
        `job_id`); it names no sizes, so ask a job's images of `of`."""
        return cls(summary["user_id"], summary["category"], summary["job_id"], summary["preset_id"])

    @property
    def folder(self) -> str:
        return f"{self.user_id}/bulk_runs/{self.category}/{self.run_id}"

    def image_name(self, index: int) -> str:
        """Image `index` (the item's generation_index) without extension: `generation_3`, or
        `generation_2_16x9` in a run of several sizes."""
        return image_stem(index, self.sizes)

    def image_key(self, index: int) -> str:
        return f"{self.folder}/images/{self.image_name(index)}.png"

    def metadata_key(self, index: int) -> str:
        return f"{self.folder}/metadata/{self.image_name(index)}.json"

    def image_filename(self, index: int) -> str:
        """The image's name in the ZIP and in exports."""
        return f"{self.image_name(index)}.png"

    def metadata_filename(self, index: int) -> str:
        return f"{self.image_name(index)}_metadata.json"

    @property
    def summary_key(self) -> str:
        return f"{self.folder}/metadata/summary.json"

    @property
    def resolved_prompts_key(self) -> str:
        # Frozen at first resolution so a re-execution generates exactly the same prompts.
        return f"{self.folder}/metadata/resolved_prompts.json"

    @property
    def looks_key(self) -> str:
        # What the images were found to be: near-duplicate pairs, colour adherence, hashes.
        return f"{self.folder}/metadata/looks.json"

    @property
    def contact_sheet_key(self) -> str:
        return f"{self.folder}/metadata/contact_sheet.jpg"

    @property
    def zip_key(self) -> str:
        return f"{self.folder}/{self.run_id}_bulk_generation.zip"

    @property
    def analytics_key(self) -> str:
        return f"{ANALYTICS_PREFIX}{self.preset_id or PROMPT_BATCH}/{self.run_id}/{ANALYTICS_NAME}"


def is_analytics_key(key: str) -> bool:
    """Whether `key` is a run's analytics.json (as RunLayout.analytics_key names it)."""
    return (
        key.startswith(ANALYTICS_PREFIX)
        and key.endswith(f"/{ANALYTICS_NAME}")
        and key.count("/") == 3
    )


ZIP_SUMMARY_NAME = "bulk_generation_summary.json"


# Several sizes in one run (domain.sizes): image i of a run in k sizes renders generation
# ceil(i/k) in size (i-1) mod k, and is named by both.


def size_label(dimensions: Mapping[str, Any]) -> str:
    """A size as it appears in file names and metadata: `1024x768`, or `16x9` for 16:9."""
    ratio = dimensions.get("aspect_ratio")
    if ratio:
        return str(ratio).replace(":", "x")
    return f"{dimensions['width']}x{dimensions['height']}"


def size_labels(sizes: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(size_label(size) for size in sizes)


def image_index(generation: int, position: int, size_count: int) -> int:
    """The item number of `generation` (1-based) rendered in size `position` (0-based)."""
    return (generation - 1) * size_count + position + 1


def image_place(index: int, size_count: int) -> tuple[int, int]:
    """(generation, size position) of item `index`: the inverse of image_index."""
    generation, position = divmod(index - 1, max(size_count, 1))
    return generation + 1, position


def image_stem(index: int, labels: Sequence[str]) -> str:
    """The file name (without extension) of item `index` in a run of these sizes."""
    if len(labels) <= 1:
        return f"generation_{index}"
    generation, position = image_place(index, len(labels))
    return f"generation_{generation}_{labels[position]}"

"""Object-store keys of one run (README "Outputs" shows the layout).

Keyed by run id, never preset id: two runs of one preset must not overwrite each other.
Plain naming, so it sits in domain/: the database (a job's folder), the use cases in runs/,
the assets, analytics and the console all read it (db/ may import domain/, never runs/).
"""

from __future__ import annotations

from collections.abc import Mapping
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


@dataclass(frozen=True)
class RunLayout:
    user_id: str
    category: str
    run_id: str
    preset_id: str | None

    @classmethod
    def of(cls, job: RunOwner) -> RunLayout:
        """The layout of a job's run (a job view, or anything with the same four fields)."""
        return cls(job.user_id, job.category, job.run_id, job.preset_id)

    @classmethod
    def of_summary(cls, summary: Mapping[str, Any]) -> RunLayout:
        """The layout from a job's JSON summary (readmodel.job_summary: the run id is `job_id`)."""
        return cls(summary["user_id"], summary["category"], summary["job_id"], summary["preset_id"])

    @property
    def folder(self) -> str:
        return f"{self.user_id}/bulk_runs/{self.category}/{self.run_id}"

    def image_key(self, generation: int) -> str:
        return f"{self.folder}/images/generation_{generation}.png"

    def metadata_key(self, generation: int) -> str:
        return f"{self.folder}/metadata/generation_{generation}.json"

    @property
    def summary_key(self) -> str:
        return f"{self.folder}/metadata/summary.json"

    @property
    def resolved_prompts_key(self) -> str:
        # Frozen at first resolution so a re-execution generates exactly the same prompts.
        return f"{self.folder}/metadata/resolved_prompts.json"

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


def image_filename(generation: int) -> str:
    return f"generation_{generation}.png"


def metadata_filename(generation: int) -> str:
    return f"generation_{generation}_metadata.json"


ZIP_SUMMARY_NAME = "bulk_generation_summary.json"

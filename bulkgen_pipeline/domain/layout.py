"""Object-store keys of one run (README "Outputs" shows the layout).

Keyed by run id, never preset id: two runs of one preset must not overwrite each other.
Plain naming, so it sits in domain/: the database (a job's folder), the use cases in runs/,
the assets, analytics and the console all read it (db/ may import domain/, never runs/).
"""

from __future__ import annotations

from dataclasses import dataclass

from .kinds import PROMPT_BATCH


@dataclass(frozen=True)
class RunLayout:
    user_id: str
    category: str
    run_id: str
    preset_id: str | None

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
        return f"prompt_history/{self.preset_id or PROMPT_BATCH}/{self.run_id}/analytics.json"


def image_filename(generation: int) -> str:
    return f"generation_{generation}.png"


def metadata_filename(generation: int) -> str:
    return f"generation_{generation}_metadata.json"


ZIP_SUMMARY_NAME = "bulk_generation_summary.json"

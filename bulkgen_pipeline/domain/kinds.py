"""The two kinds of bulk request: a preset, or a prompt batch (seed 003). The batch tag also
names where batches are filed when they have no preset (Dagster tags, analytics folder).

A job stores its request as a snapshot, `{"kind", "generation_count", "body"}` (written by
`requests.BulkRequest.snapshot`); what the rest of the code reads from it (kind, name, config)
is read here, by the job view's properties, and nowhere else. Plain dict access, no imports:
`bulkgen status` reads it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PRESET = "preset"
PROMPT_BATCH = "prompt_batch"
# A prompt batch's name when the merchant gives none (domain/batches.py's default).
DEFAULT_BATCH_NAME = "Prompt batch"


def snapshot_kind(snapshot: Mapping[str, Any]) -> str:
    """PRESET or PROMPT_BATCH (snapshots from before batches existed carry no kind: presets)."""
    return str(snapshot.get("kind", PRESET))


def snapshot_name(snapshot: Mapping[str, Any]) -> str | None:
    """The preset's or the batch's name, as queued."""
    return snapshot.get("body", {}).get("name")


def snapshot_config(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """What the run was asked for: a preset's config, or a batch's whole body."""
    body = snapshot["body"]
    return body.get("config", body)


def snapshot_model(snapshot: Mapping[str, Any]) -> str | None:
    """The image model the run asked for (a preset's config.model, a batch's
    shared_settings.model); None when bulkgen chooses."""
    config = snapshot_config(snapshot)
    chosen = config.get("model") or (config.get("shared_settings") or {}).get("model")
    return str(chosen) if chosen else None

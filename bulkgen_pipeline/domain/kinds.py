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
# The size of a request that names none (domain.sizes.default_size).
DEFAULT_SIZE: Mapping[str, int] = {"width": 1024, "height": 1024}


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


def snapshot_sizes(snapshot: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The sizes the run asked for, in order (see config_sizes). Read on every status, so a
    snapshot of another shape (a test's, an old one's) has the default size, not an error."""
    body = snapshot.get("body", snapshot)
    return config_sizes(body.get("config", body) if isinstance(body, Mapping) else {})


def config_sizes(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The sizes a preset's config (its dimensions) or a batch's body (its shared_settings')
    asks for, in order, given as one object or a list; one default size when none is given."""
    given = config.get("dimensions") or (config.get("shared_settings") or {}).get("dimensions")
    if not given:
        return [dict(DEFAULT_SIZE)]
    return list(given) if isinstance(given, list) else [given]

"""The two kinds of bulk request: a preset, or a prompt batch (seed 003). The batch tag also
names where batches are filed when they have no preset (Dagster tags, analytics folder)."""

PRESET = "preset"
PROMPT_BATCH = "prompt_batch"

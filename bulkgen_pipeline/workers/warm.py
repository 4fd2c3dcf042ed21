"""What a warm slot imports before the fork, beyond Dagster and the definitions."""

from __future__ import annotations


def import_what_runs_import_on_first_use() -> None:
    """Import, once, in the worker's parent, the modules the API and the CLI import only when a
    run needs them (tests/pipeline/test_run_workers.py checks that a run's inspection and the
    analytics refresh import nothing after it). Left to the slots, each paid them on its first
    run of a kind: profiled under a 30-merchant burst, 14 % of the slots' samples were scipy's
    import inside the first pHash, and a slot's first analytics refresh spent 0.46 CPU-s
    importing pandas and pyarrow."""
    from PIL import Image

    from ..analytics import dataset, markdown, publish  # noqa: F401 (the analytics refresh's)
    from ..inspection import LOOK_SIDE, look_at_image

    Image.init()  # every image plugin, as the first decode of each format would load it
    look_at_image(Image.new("RGB", (LOOK_SIDE, LOOK_SIDE)), "#000000")

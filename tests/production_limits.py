"""deploy/dagster.yaml's run queue as `dg.instance_for_test` overrides: the queue sensor's tests
run against the limits production uses (3 runs per merchant), not a copy of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DAGSTER_YAML = Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml"


def production_run_queue() -> dict[str, Any]:
    config = yaml.safe_load(DAGSTER_YAML.read_text())
    return {
        "run_coordinator": config["run_coordinator"],
        "concurrency": {"runs": config["concurrency"]["runs"]},
    }
